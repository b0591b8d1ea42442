#!/usr/bin/env bash
# The packed package where users load it, in the scratch projects of .ci/scratch-projects.sh: imported from the
# ESM project and required from the CJS project (test/package/check-*), its bin run from each, and TypeScript in
# the CJS project with module node16 and with commonjs + moduleResolution node10.  Usage: .ci/check-package.sh DIR
set -euo pipefail
scratch="$(cd "${1:?usage: .ci/check-package.sh DIR}" && pwd)"
cd "$(dirname "$0")/.."
repo="$PWD"
cp test/package/check-esm.mjs "$scratch/esm/check.mjs"
cp test/package/check-cjs.cjs "$scratch/cjs/check.cjs"
for check in esm/check.mjs cjs/check.cjs; do
	(cd "$scratch/${check%/*}" && node "${check#*/}" && ./node_modules/.bin/graceful-proc --help >/dev/null && echo "bin ok (${check%/*} project)")
done
cp test/fixtures/ts-cjs/index.ts test/fixtures/ts-cjs/tsconfig.node16.json test/fixtures/ts-cjs/tsconfig.node10.json "$scratch/cjs/"
for resolution in node16 node10; do
	(cd "$scratch/cjs" && "$repo/node_modules/.bin/tsc" -p "tsconfig.$resolution.json" && node "out-$resolution/index.js")
	echo "typescript ok ($resolution)"
done
