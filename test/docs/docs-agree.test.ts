// What the docs say in prose, their samples must do: a new user copies the sample, not the sentence above it.
import { describe, expect, it } from 'vitest';
import { extractSamples, sampleFiles } from '../helpers/samples.js';

const samples = sampleFiles().flatMap((file) => extractSamples(file));

describe('the docs agree with themselves', () => {
	it('finds the Kubernetes samples it checks', () => {
		expect(samples.filter((sample) => sample.name === 'kubernetes').length).toBeGreaterThanOrEqual(3);
	});

	// README and docs/health.md say: in Kubernetes, leave timeToWrapUp unset (it follows what drain() reserves).
	it('no Kubernetes sample sets timeToWrapUp', () => {
		const setting = samples
			.filter((sample) => sample.name === 'kubernetes' && /setTimeToWrapUp|timeToWrapUp\s*:/.test(sample.code))
			.map((sample) => `${sample.file}:${sample.line}`);
		expect(setting).toEqual([]);
	});
});
