import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { explain, extractSamples, makeSampleDir, problems, runSample, sampleFiles } from '../helpers/samples.js';

// Every js/ts block of README.md and docs/*.md, run as printed against the built package (npm run build first):
// see test/helpers/samples.ts for how a block is run and how a doc says what a fragment leaves out.
const dir = makeSampleDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// One concurrent suite for every file, so that the samples of all files share the runner's concurrency: most
// of a server sample's time is its readiness delay, spent waiting.
describe.concurrent('the samples of README.md and docs/*.md work as printed', () => {
	for (const file of sampleFiles()) {
		describe(file, () => {
			for (const sample of extractSamples(file)) {
				const title = `${file}:${sample.line} ${sample.name}`;
				if (sample.notASample !== undefined) {
					it.skip(`${title} (not a sample: ${sample.notASample})`, () => {});
					continue;
				}
				// Up to 20 s to get ready and 20 s after (see runSample), or 40 s for a vitest sample, on a loaded machine.
				it(title, async () => {
					const result = await runSample(sample, dir);
					const found = problems(sample, result);
					expect(found, explain(sample, result, found)).toEqual([]);
				}, 60_000);
			}
		});
	}
});
