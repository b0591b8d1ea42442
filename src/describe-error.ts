/**
 * Text for anything the application throws, rejects with or gives as a reason. Whatever that value is (an
 * object with no prototype, getters or a `toString` that throw, a Proxy whose every trap throws, a BigInt
 * deep inside), this returns a string and never throws: the shutdown that reports the value must not die
 * of it.
 */

/** Longest text one value may take, so one huge message cannot bury the rest of a summary. */
const MAX_LENGTH = 2000;

export interface DescribeOptions {
	/**
	 * The stack trace of an Error, when it has one, instead of its `name: message`.
	 * @default false
	 */
	stack?: boolean;
	/** @default 2000 */
	maxLength?: number;
}

function attempt<T>(fn: () => T): T | undefined {
	try {
		return fn();
	} catch {
		return undefined;
	}
}

function isError(value: object): boolean {
	return attempt(() => value instanceof Error || Object.prototype.toString.call(value) === '[object Error]') === true;
}

/** JSON that survives BigInt and leaves out what JSON cannot show; undefined when it throws (cycles, traps). */
function toJson(value: object): string | undefined {
	return attempt(() => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${String(v)}n` : v)));
}

function describeObject(value: object, stack: boolean): string | undefined {
	if (typeof value === 'function') {
		const name = attempt(() => (value as { name?: unknown }).name);
		return typeof name === 'string' && name ? `[Function ${name}]` : '[Function]';
	}
	if (isError(value)) {
		if (stack) {
			const trace = attempt(() => (value as { stack?: unknown }).stack);
			if (typeof trace === 'string' && trace) return trace;
		}
		const name = attempt(() => (value as { name?: unknown }).name);
		const message = attempt(() => (value as { message?: unknown }).message);
		const label = typeof name === 'string' && name ? name : 'Error';
		return typeof message === 'string' && message ? `${label}: ${message}` : label;
	}
	const text = attempt(() => String(value));
	if (typeof text === 'string' && text !== '' && !text.startsWith('[object ')) return text;
	return toJson(value) ?? text ?? attempt(() => Object.prototype.toString.call(value));
}

export function describeError(value: unknown, { stack = false, maxLength = MAX_LENGTH }: DescribeOptions = {}): string {
	let text: string | undefined;
	if (typeof value === 'string') text = value;
	else if (value === null || (typeof value !== 'object' && typeof value !== 'function')) text = attempt(() => String(value));
	else text = describeObject(value, stack);
	if (typeof text !== 'string') text = `[${typeof value} that cannot be shown]`;
	// An empty string would leave `error db: ` with nothing after it.
	else if (text === '') text = '""';
	return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}
