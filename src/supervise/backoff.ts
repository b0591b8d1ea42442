/**
 * The wait before a restart: exponential in the failed starts in a row, capped, with jitter so that
 * children which crashed together do not come back together.
 */
import type { BackoffOptions } from './options.js';

/**
 * Milliseconds to wait before the next start, given how many starts in a row have failed (0 after a good
 * start). Grows by `factor` with each failure from `initial` up to `max`; `jitter` takes a random share off
 * the top, so that children which crashed together (a dependency went away) do not all come back at once.
 * With the default jitter of 0.5 and factor 2 the ranges of consecutive waits do not overlap, so the wait
 * really grows with every failure.
 */
export function backoffDelay(failures: number, options: Required<BackoffOptions>, random: () => number = Math.random): number {
	const { initial, max, factor, jitter } = options;
	if (initial === 0) return 0;
	// factor ** n overflows to Infinity long before it matters; min() turns that into max.
	const base = Math.min(max, initial * factor ** Math.max(0, failures - 1));
	return Math.round(base * (1 - jitter * random()));
}
