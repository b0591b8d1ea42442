// The wrap-up time a drain reserves on the proc for long-lived streams to wind down over the spread, reserved
// when it is set or when the first stream asks, and released with the drain.
import { RESERVE_TIME } from '../time-budget.js';
import type { Proc } from '../types.js';
import { MAX_TIMER_MS } from '../validate.js';
import { SPREAD_TAIL } from './spread.js';

type Reserve = (phase: 'wrap-up', ms: number, who: string) => () => void;

export interface SpreadReservation {
	/** Reserves the time (once); called when the server's first stream asks for its drain signal. */
	reserve(): void;
	release(): void;
}

/**
 * The wrap-up time a drain with long-lived streams needs: `delay`, then the `spread`, then a tail for the last
 * streams to close. Ordinary requests run meanwhile, so this stands beside what the drain reserves for them, and
 * the proc keeps the longer of the two. A spread the user set is reserved at once, so a time that cannot hold it
 * is reported when drain() is called; the default one only once a stream asks for its signal: a server without
 * long-lived streams never waits for a spread, and its times stay as they were.
 */
export function spreadReservation(proc: Proc, options: { delay: number; spread: number; spreadSet: boolean }, name: string): SpreadReservation {
	const reserveTime = (proc as unknown as Record<symbol, Reserve | undefined>)[RESERVE_TIME];
	let release: (() => void) | undefined;
	let done = false;
	const reservation: SpreadReservation = {
		reserve() {
			// A proc from an older copy of the package has no budget: nothing to reserve with.
			if (done || typeof reserveTime !== 'function') return;
			done = true;
			release = reserveTime.call(proc, 'wrap-up', Math.min(MAX_TIMER_MS, options.delay + options.spread + SPREAD_TAIL), name);
		},
		release() {
			release?.();
			release = undefined;
		},
	};
	if (options.spreadSet && options.spread > 0) reservation.reserve();
	return reservation;
}
