#!/usr/bin/env bash
# Test runners on the packed package, in the scratch projects of .ci/scratch-projects.sh: jest with its defaults
# (and --detectOpenHandles) in the CJS project (test/system/jest-testing-kit.cjs, which also tests the README's
# Express recipe), `bun test` (test/system/bun-core.spec.mjs) and `deno test` (test/system/deno-core.spec.mjs) in
# the ESM project. Each writes its results into OUT (jest.json, bun.xml, deno.xml) for .ci/tally.mjs; a failing run
# does not stop the others, and this script does not fail on a failing test (the tally counts it).
# Usage: .ci/test-package.sh DIR OUT
set -uo pipefail
scratch="$(cd "${1:?usage: .ci/test-package.sh DIR OUT}" && pwd)" || exit 1
mkdir -p "${2:?usage: .ci/test-package.sh DIR OUT}" "$scratch/cjs/__tests__"
out="$(cd "$2" && pwd)"
cd "$(dirname "$0")/.."
repo="$PWD"
rm -f "$out/jest.json" "$out/bun.xml" "$out/deno.xml"
cp test/system/jest-testing-kit.cjs "$scratch/cjs/__tests__/testing-kit.test.js"
node_modules/.bin/jest --rootDir "$scratch/cjs" --ci --detectOpenHandles --json --outputFile="$out/jest.json"
cp test/system/bun-core.spec.mjs test/fixtures/bun-core-child.mjs "$scratch/esm/"
(cd "$scratch/esm" && "$repo/node_modules/.bin/bun" test ./bun-core.spec.mjs --reporter=junit --reporter-outfile="$out/bun.xml")
# The runner may start processes (-A); the children it starts get only the flags a user would give.
cp test/system/deno-core.spec.mjs test/fixtures/deno-core-child.mjs "$scratch/esm/"
(cd "$scratch/esm" && DENO_NO_UPDATE_CHECK=1 NO_COLOR=1 "$repo/node_modules/.bin/deno" test -A ./deno-core.spec.mjs --junit-path="$out/deno.xml")
exit 0
