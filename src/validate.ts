/**
 * Argument checks. Every message follows one template, so users can grep for it:
 * Expected `timeout` to be a finite number >= 0, got `-1` (number)
 */
import type { Proc } from './types.js';

/** How a received value is shown in an error message: its value (short) and its type. */
export function describe(value: unknown): string {
	let shown: string;
	if (typeof value === 'string') {
		shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
	} else if (typeof value === 'function') {
		shown = value.name ? `[Function ${value.name}]` : '[Function]';
	} else if (typeof value === 'symbol' || typeof value === 'bigint') {
		shown = String(value);
	} else if (value !== null && typeof value === 'object') {
		shown = Array.isArray(value) ? `[Array(${value.length})]` : `[${value.constructor?.name ?? 'Object'}]`;
	} else {
		shown = String(value);
	}
	const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
	return `\`${shown}\` (${type})`;
}

export function expected(argument: string, what: string, value: unknown): string {
	return `Expected \`${argument}\` to be ${what}, got ${describe(value)}`;
}

export function assertFunction(argument: string, value: unknown): asserts value is (...args: any[]) => unknown {
	if (typeof value !== 'function') throw new TypeError(expected(argument, 'a function', value));
}

export function assertBoolean(argument: string, value: unknown): asserts value is boolean {
	if (typeof value !== 'boolean') throw new TypeError(expected(argument, 'a boolean', value));
}

export function assertString(argument: string, value: unknown, { nonEmpty = true } = {}): asserts value is string {
	if (typeof value !== 'string') throw new TypeError(expected(argument, nonEmpty ? 'a non-empty string' : 'a string', value));
	if (nonEmpty && value.length === 0) throw new RangeError(expected(argument, 'a non-empty string', value));
}

/** The longest a Node timer can wait: larger delays fire after 1 ms (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration or count: a finite number >= min (TypeError when not a number, RangeError when out of range). */
export function assertNumber(
	argument: string,
	value: unknown,
	{ min = 0, integer = false, exclusiveMin = false, max = Number.POSITIVE_INFINITY, maxWhy = '' } = {},
): asserts value is number {
	const what = `a finite ${integer ? 'integer' : 'number'} ${exclusiveMin ? '>' : '>='} ${min}`;
	if (typeof value !== 'number') throw new TypeError(expected(argument, what, value));
	if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || (exclusiveMin && value === min)) {
		throw new RangeError(expected(argument, what, value));
	}
	if (value > max) throw new RangeError(expected(argument, `a finite ${integer ? 'integer' : 'number'} <= ${max}${maxWhy}`, value));
}

/**
 * A time in milliseconds that a timer will honour: a finite number >= min and <= 2^31 - 1 (about 24.8 days).
 * `scale` is for times given in other units (1000 for seconds).
 */
export function assertDuration(argument: string, value: unknown, { min = 0, exclusiveMin = false, scale = 1 } = {}): asserts value is number {
	assertNumber(argument, value, { min, exclusiveMin, max: Math.floor(MAX_TIMER_MS / scale), maxWhy: ' (the longest a timer can wait)' });
}

/** Options must be a plain object (or undefined), and only carry keys we know: a typo is an error, not a silent default. */
export function assertOptions(argument: string, value: unknown, known: readonly string[]): void {
	if (value === undefined) return;
	if (value === null || typeof value !== 'object' || Array.isArray(value)) {
		throw new TypeError(expected(argument, 'an object', value));
	}
	for (const key of Object.keys(value as object)) {
		if (!known.includes(key)) {
			// A key that is not a plain name (a typo'd quote, a space) is shown quoted, so the message stays readable.
			const shown = /^[A-Za-z_$][\w$]*$/.test(key) ? `\`${argument}.${key}\`` : `${JSON.stringify(key)} in \`${argument}\``;
			throw new TypeError(`Unknown option ${shown}; known options are ${known.map((k) => `\`${k}\``).join(', ')}`);
		}
	}
}

export function assertOneOf<T extends string>(argument: string, value: unknown, allowed: readonly T[]): asserts value is T {
	if (!allowed.includes(value as T)) {
		throw new (typeof value === 'string' ? RangeError : TypeError)(
			expected(argument, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value),
		);
	}
}

/** A proc from `createProc()` or the process-wide one, checked by shape so that another copy's proc passes too. */
export function assertProc(argument: string, value: unknown, alternatives = ''): asserts value is Proc {
	const p = value as Proc;
	if (
		p === null ||
		typeof p !== 'object' ||
		typeof p.addWrapUpListener !== 'function' ||
		typeof p.addShutdownListener !== 'function' ||
		typeof p.signal?.addEventListener !== 'function'
	) {
		throw new TypeError(expected(argument, `a proc (from \`createProc()\` or the process-wide \`proc\`)${alternatives}`, value));
	}
}
