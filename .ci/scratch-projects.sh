#!/usr/bin/env bash
# Packs the package and installs the tarball into two scratch projects, DIR/esm ("type": "module") and DIR/cjs
# ("type": "commonjs"), each with @types/node@20 so that TypeScript compiles against the package's declarations
# as a user's project would.  Usage: .ci/scratch-projects.sh DIR
set -euo pipefail
mkdir -p "${1:?usage: .ci/scratch-projects.sh DIR}"
scratch="$(cd "$1" && pwd)"
cd "$(dirname "$0")/.."
tarball="$(npm pack --silent --pack-destination "$scratch" | tail -n 1)"
for kind in esm cjs; do
	if [ "$kind" = esm ]; then type=module; else type=commonjs; fi
	mkdir -p "$scratch/$kind"
	printf '{"name":"scratch-%s","private":true,"type":"%s"}\n' "$kind" "$type" >"$scratch/$kind/package.json"
	# The CJS project also gets express: its jest test runs the README's Express recipe (test/system/jest-testing-kit.cjs).
	extra=""; if [ "$kind" = cjs ]; then extra="express@5"; fi
	(cd "$scratch/$kind" && npm install --silent --no-audit --no-fund "$scratch/$tarball" "@types/node@20" $extra >/dev/null)
done
echo "installed $tarball into $scratch/esm and $scratch/cjs"
