#!/usr/bin/env bash
# npm ci, quiet about install scripts: a warning about them means package.json's allowScripts does not cover a
# package that has one, and fails the run. Then the binaries the approved install scripts provide.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp
npm ci --no-audit --no-fund 2>&1 | tee .tmp/npm-ci.log
# npm names the setting in its warning ("not yet covered by allowScripts"; older releases said allow-scripts).
if grep -Eqi "allow-?scripts" .tmp/npm-ci.log; then
	echo "npm ci warned about install scripts: package.json's allowScripts does not cover them" >&2
	exit 1
fi
node_modules/.bin/esbuild --version >/dev/null
echo "bun $(node_modules/.bin/bun --version)"
# Deno: the `deno` package's install script links its platform package's binary (@deno/linux-x64-glibc) in place.
DENO_NO_UPDATE_CHECK=1 node_modules/.bin/deno --version | head -n 1
