/**
 * A failed check's error as the one line a probe answer shows: its message, never its stack, credentials
 * redacted, and never a throw, whatever the value thrown.
 */
import { redact } from './redact.js';

/** Long error messages (a driver dumping a query) would bloat every verbose probe answer. */
const MAX_MESSAGE = 300;

/** BigInts (which JSON.stringify refuses) as `12n`, so an object holding one still shows. */
function jsonReplacer(_key: string, value: unknown): unknown {
	return typeof value === 'bigint' ? `${value}n` : value;
}

/** Whatever the check threw, as text; may throw, since the value's own getters and methods run. */
function textOf(error: unknown): string {
	if (typeof error === 'string') return error;
	if (error === undefined || error === null) return 'failed';
	if (typeof error !== 'object' && typeof error !== 'function') return String(error);
	// Errors and error-likes (a driver's own class, a plain `{ message }`): the message, or the error's name.
	const message = (error as { message?: unknown }).message;
	if (typeof message === 'string' && message !== '') return message;
	if (error instanceof Error) return error.name || 'Error';
	const json = JSON.stringify(error, jsonReplacer);
	if (json !== undefined) return json;
	return String(error);
}

/** The last resort, when every way of showing the value threw: its type, which cannot throw. */
function kindOf(error: unknown): string {
	return `failed with a value that cannot be shown (${error === null ? 'null' : typeof error})`;
}

/**
 * Ways to show a value, in order; each may throw (the value's own getters and methods run). After a
 * `message` getter or `toJSON` that throws: the error's name, then its string form, then its type.
 */
const ATTEMPTS: ReadonlyArray<(error: unknown) => unknown> = [
	textOf,
	(error) => (error instanceof Error ? error.name || 'Error' : undefined),
	(error) => String(error),
	kindOf,
];

/**
 * A check's error as one line of text: its message, never its stack, with credentials redacted. Never
 * throws, whatever the value: a getter that throws, a `toJSON` and `toString` that throw, a null-prototype
 * object holding a BigInt, a revoked Proxy. A failure to describe a failure must not take the process down.
 */
export function messageOf(error: unknown): string {
	let shown: unknown;
	for (const attempt of ATTEMPTS) {
		try {
			shown = attempt(error);
			if (typeof shown === 'string') break;
		} catch {}
	}
	let text = (typeof shown === 'string' ? shown : kindOf(error)).split('\n', 1)[0] ?? '';
	// Cut before redacting, so the patterns only ever run over a bounded length.
	if (text.length > MAX_MESSAGE * 2) text = text.slice(0, MAX_MESSAGE * 2);
	text = redact(text);
	return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text || 'failed';
}
