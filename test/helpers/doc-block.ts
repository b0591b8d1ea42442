// A code block of docs/*.md written to a file inside the repository (so that `graceful-proc` resolves to the built
// package, as for the samples), for tests that run a recipe as printed and check more than the samples harness does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractSamples, repoRoot } from './samples.js';

/** The one block of `file` whose code contains `marker`, written as `name`.mjs; `edit` changes what the test must (a port). */
export function writeDocBlock(file: string, marker: string, name: string, edit: (code: string) => string = (code) => code): string {
	const found = extractSamples(file).filter((sample) => sample.code.includes(marker));
	if (found.length !== 1) throw new Error(`${file}: expected one block containing ${JSON.stringify(marker)}, found ${found.length}`);
	const code = edit(found[0]!.code);
	const dir = join(repoRoot, 'test', '.tmp', `${name}-${process.pid}-${Date.now()}`);
	mkdirSync(dir, { recursive: true });
	const path = join(dir, `${name}.mjs`);
	writeFileSync(path, `${found[0]!.prelude}\n${code}\n`);
	return path;
}
