/**
 * Errors as JSON for logs: `{ name, message, stack, code?, cause?, errors? }`, the cause and an AggregateError's
 * errors followed a few levels down. Whatever the value is (a getter that throws, a hostile Proxy, a BigInt, a
 * cycle of causes), this returns something JSON can hold and never throws.
 */
import { describeError } from './describe-error.js';

/** How many causes deep the chain is followed; further down, the cause is given as text. */
export const MAX_CAUSE_DEPTH = 4;
/** How many of an AggregateError's errors are kept. */
export const MAX_AGGREGATED = 10;
/** Longest stack kept, in characters. */
const MAX_STACK = 8000;

function read(value: object, key: string): unknown {
	try {
		return (value as Record<string, unknown>)[key];
	} catch {
		return undefined;
	}
}

function isError(value: unknown): value is object {
	try {
		return value instanceof Error || (typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Error]');
	} catch {
		return false;
	}
}

/** A value JSON can hold as it is, or its text. */
function plain(value: unknown): unknown {
	try {
		if (value === undefined || JSON.stringify(value) === undefined) return describeError(value);
		return value;
	} catch {
		return describeError(value);
	}
}

export function errorToJSON(value: unknown, depth = 0): unknown {
	if (!isError(value)) return plain(value);
	const json: Record<string, unknown> = { name: describeError(read(value, 'name')), message: describeError(read(value, 'message')) };
	const stack = read(value, 'stack');
	if (typeof stack === 'string') json.stack = stack.length > MAX_STACK ? `${stack.slice(0, MAX_STACK)}…` : stack;
	const code = read(value, 'code');
	if (typeof code === 'string' || typeof code === 'number') json.code = code;
	const cause = read(value, 'cause');
	if (cause !== undefined) json.cause = depth < MAX_CAUSE_DEPTH ? errorToJSON(cause, depth + 1) : describeError(cause);
	const errors = read(value, 'errors');
	if (Array.isArray(errors) && depth < MAX_CAUSE_DEPTH) {
		try {
			json.errors = errors.slice(0, MAX_AGGREGATED).map((error) => errorToJSON(error, depth + 1));
		} catch {}
	}
	return json;
}
