import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { explain, extractSamples, makeSampleDir, problems, runSample, sampleFiles } from './helpers/samples.js';

// Every js/ts block of README.md and docs/*.md, run as printed against the built package (npm run build first):
// see test/helpers/samples.ts for how a block is run and how a doc says what a fragment leaves out.
const dir = makeSampleDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const file of sampleFiles()) {
	describe.concurrent(`the samples of ${file} work as printed`, () => {
		for (const sample of extractSamples(file)) {
			const title = `${file}:${sample.line} ${sample.name}`;
			if (sample.notASample !== undefined) {
				it.skip(`${title} (not a sample: ${sample.notASample})`, () => {});
				continue;
			}
			it(title, async () => {
				const result = await runSample(sample, dir);
				const found = problems(sample, result);
				expect(found, explain(sample, result, found)).toEqual([]);
			});
		}
	});
}
