import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/supervise/backoff.js';

const options = fc.record({
	initial: fc.integer({ min: 0, max: 10_000 }),
	extra: fc.integer({ min: 0, max: 100_000 }),
	factor: fc.double({ min: 1, max: 10, noNaN: true }),
	jitter: fc.double({ min: 0, max: 1, noNaN: true }),
});
const failures = fc.integer({ min: 0, max: 2000 });
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('the wait between restarts grows exponentially, with jitter, up to max', () => {
	it('starts at initial and multiplies by factor with each failed start in a row', () => {
		const o = { initial: 100, max: 15_000, factor: 2, jitter: 0 };
		expect([0, 1, 2, 3, 4, 8, 20].map((n) => backoffDelay(n, o))).toEqual([100, 100, 200, 400, 800, 12_800, 15_000]);
	});

	it('stays within [base × (1 − jitter), base], where base = min(max, initial × factor^(n−1))', () => {
		fc.assert(
			fc.property(options, failures, random, ({ initial, extra, factor, jitter }, n, r) => {
				const o = { initial, max: initial + extra, factor, jitter };
				const base = initial === 0 ? 0 : Math.min(o.max, initial * factor ** Math.max(0, n - 1));
				const delay = backoffDelay(n, o, () => r);
				expect(Number.isInteger(delay)).toBe(true);
				expect(delay).toBeLessThanOrEqual(Math.round(base));
				expect(delay).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
				expect(delay).toBeLessThanOrEqual(o.max);
			}),
		);
	});

	it('never shrinks as failures add up, for the same random draw', () => {
		fc.assert(
			fc.property(options, failures, random, ({ initial, extra, factor, jitter }, n, r) => {
				const o = { initial, max: initial + extra, factor, jitter };
				expect(backoffDelay(n + 1, o, () => r)).toBeGreaterThanOrEqual(backoffDelay(n, o, () => r));
			}),
		);
	});

	it('with the default jitter (0.5) and factor 2, every wait below max is at least as long as the previous one, whatever the draws', () => {
		fc.assert(
			// Below the cap (5000 × 2^31 is far from it): at the cap, jitter alone decides.
			fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 30 }), random, random, (initial, n, r1, r2) => {
				const o = { initial, max: Number.MAX_SAFE_INTEGER, factor: 2, jitter: 0.5 };
				expect(backoffDelay(n + 2, o, () => r2)).toBeGreaterThanOrEqual(backoffDelay(n + 1, o, () => r1));
			}),
		);
	});
});
