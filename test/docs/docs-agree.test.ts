// What the docs say in prose, their samples must do: a new user copies the sample, not the sentence above it.
import { describe, expect, it } from 'vitest';
import { extractSamples, sampleFiles } from '../helpers/samples.js';

const samples = sampleFiles().flatMap((file) => extractSamples(file));

describe('the docs agree with themselves', () => {
	it('finds the Kubernetes samples it checks', () => {
		expect(samples.filter((sample) => sample.name === 'kubernetes').length).toBeGreaterThanOrEqual(3);
	});

	// docs/core.md says its test of an app written as the README shows tests the README's Express recipe, as printed.
	it("the testing kit's app under test is the README's Express recipe, as printed", () => {
		const readme = samples.find((sample) => sample.file === 'README.md' && sample.name === 'express');
		const test = samples.find((sample) => sample.file === 'docs/core.md' && sample.name === 'testing-app');
		expect(test!.options.with).toBe('server');
		expect(test!.code).toContain("await import('./server.mjs')");
		const underTest = samples.find((sample) => sample.file === 'docs/core.md' && sample.name === 'server');
		expect(underTest).toMatchObject({ code: readme!.code, prelude: readme!.prelude });
	});

	// README and docs/health.md say: in Kubernetes, leave timeToWrapUp unset (it follows what drain() reserves).
	it('no Kubernetes sample sets timeToWrapUp', () => {
		const setting = samples
			.filter((sample) => sample.name === 'kubernetes' && /setTimeToWrapUp|timeToWrapUp\s*:/.test(sample.code))
			.map((sample) => `${sample.file}:${sample.line}`);
		expect(setting).toEqual([]);
	});
});
