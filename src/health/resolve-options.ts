/**
 * `createHealthTicker()`'s options, checked and filled in with their defaults. Pure: a bad option throws before
 * any timer, listener or file exists.
 */
import type { Proc } from '../types.js';
import { assertDuration, assertFunction, assertNumber, assertOptions, assertProc, assertString, expected } from '../validate.js';
import type { HealthCheck, HealthTickerOptions } from './types.js';

const KNOWN = [
	'checks',
	'interval',
	'timeout',
	'failureThreshold',
	'successThreshold',
	'maxEventLoopDelay',
	'heartbeatFile',
	'notReadyFile',
	'proc',
] as const;

export const DEFAULT_INTERVAL = 5000;
export const DEFAULT_TIMEOUT = 2000;
export const DEFAULT_MAX_EVENT_LOOP_DELAY = 2000;

export interface ResolvedOptions {
	readonly checks: ReadonlyArray<readonly [string, HealthCheck]>;
	readonly interval: number;
	readonly timeout: number;
	readonly failureThreshold: number;
	readonly successThreshold: number;
	readonly maxEventLoopDelay: number | false;
	readonly heartbeatFile: string | undefined;
	readonly notReadyFile: string | undefined;
	/** `undefined`: the caller falls back to the process-wide proc. */
	readonly proc: Proc | false | undefined;
}


/** `value` unless it was left out; `null` is kept, so that the check after it refuses it. */
function given<T>(value: T | undefined, fallback: T): T {
	return value === undefined ? fallback : value;
}

/** Checks everything before anything starts, so a bad option leaves no timer, listener or file behind. */
export function resolveOptions(options: unknown): ResolvedOptions {
	if (options === undefined) throw new TypeError(expected('options', 'an object with `checks`', options));
	assertOptions('options', options, KNOWN);
	const o = options as HealthTickerOptions;

	const checks = o.checks as unknown;
	if (checks === null || typeof checks !== 'object' || Array.isArray(checks)) {
		throw new TypeError(expected('options.checks', 'an object of check functions', checks));
	}
	const entries = Object.entries(checks as Record<string, unknown>);
	if (entries.length === 0) {
		throw new TypeError(expected('options.checks', 'an object with at least one check function', checks));
	}
	for (const [name, check] of entries) assertFunction(`options.checks.${name}`, check);

	const interval = given(o.interval, DEFAULT_INTERVAL);
	assertDuration('options.interval', interval, { min: 0, exclusiveMin: true });
	const timeout = given(o.timeout, Math.min(DEFAULT_TIMEOUT, interval));
	assertDuration('options.timeout', timeout, { min: 0, exclusiveMin: true });
	// A check that may outlast the interval would make every round late; the cache would always be stale.
	if (timeout > interval) {
		throw new RangeError(expected('options.timeout', `a finite number > 0 and <= \`options.interval\` (${interval})`, timeout));
	}
	const failureThreshold = given(o.failureThreshold, 1);
	assertNumber('options.failureThreshold', failureThreshold, { min: 1, integer: true });
	const successThreshold = given(o.successThreshold, 1);
	assertNumber('options.successThreshold', successThreshold, { min: 1, integer: true });

	const maxEventLoopDelay = given(o.maxEventLoopDelay, DEFAULT_MAX_EVENT_LOOP_DELAY);
	if (maxEventLoopDelay !== false) {
		if (typeof maxEventLoopDelay !== 'number') {
			throw new TypeError(expected('options.maxEventLoopDelay', 'a finite number > 0, or false', maxEventLoopDelay));
		}
		assertDuration('options.maxEventLoopDelay', maxEventLoopDelay, { min: 0, exclusiveMin: true });
	}

	if (o.heartbeatFile !== undefined) assertString('options.heartbeatFile', o.heartbeatFile);
	if (o.notReadyFile !== undefined) assertString('options.notReadyFile', o.notReadyFile);

	const proc = o.proc;
	if (proc !== undefined && proc !== false) assertProc('options.proc', proc, ', or false');

	return {
		checks: entries as Array<[string, HealthCheck]>,
		interval,
		timeout,
		failureThreshold,
		successThreshold,
		maxEventLoopDelay,
		heartbeatFile: o.heartbeatFile,
		notReadyFile: o.notReadyFile,
		proc,
	};
}
