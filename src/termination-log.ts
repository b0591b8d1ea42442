/**
 * The termination message (`configure({ terminationLog })`): written synchronously when the sequence ends, where
 * Kubernetes reads it, within its 4096 bytes; a missing or unwritable file is ignored.
 */
import type * as Fs from 'node:fs';
import { granted } from './runtime-permissions.js';
import { addOmitted, countLine, headLine, listenerLine, type Omitted } from './summary.js';
import type { ShutdownReport } from './types.js';
import { expected } from './validate.js';

/** Where Kubernetes reads a container's termination message (`terminationMessagePath`'s default). */
export const DEFAULT_TERMINATION_LOG = '/dev/termination-log';

/** Kubernetes keeps the first 4096 bytes of the message; anything past it would be cut mid-line. */
export const TERMINATION_LOG_MAX_BYTES = 4096;

/** The `terminationLog` option as a path, or undefined when off; a TypeError/RangeError for anything else. */
export function terminationLogPath(argument: string, value: unknown): string | undefined {
	if (value === true) return DEFAULT_TERMINATION_LOG;
	if (value === false) return undefined;
	if (typeof value !== 'string') throw new TypeError(expected(argument, 'a boolean or a file path', value));
	if (value.length === 0 || value.includes('\0')) throw new RangeError(expected(argument, 'a boolean or a file path', value));
	return value;
}

const encoder = new TextEncoder();
const byteLength = (text: string) => encoder.encode(text).length;

/** Cuts to at most `max` bytes of UTF-8 without splitting a character. */
function cutToBytes(text: string, max: number): string {
	const bytes = encoder.encode(text);
	if (bytes.length <= max) return text;
	let end = max;
	// A continuation byte (10xxxxxx) would start a broken character.
	while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
	return new TextDecoder().decode(bytes.subarray(0, end));
}

/**
 * The termination message: the summary's head line, then one line per listener that failed, timed out, was
 * pending or skipped, as many as fit in 4096 bytes with room kept for a last line counting the rest.
 */
export function formatTerminationMessage(report: ShutdownReport, omitted?: Omitted): string {
	// Room for the last line (`… and 199999 more: 199999 pending, ...`), kept free while listeners are added.
	const reserve = 160;
	let text = cutToBytes(`graceful-proc: ${headLine(report)}\n`, TERMINATION_LOG_MAX_BYTES - reserve);
	let bytes = byteLength(text);
	const more = new Map<string, number>();
	for (const listener of report.listeners) {
		if (listener.outcome === 'ok') continue;
		if (more.size === 0) {
			const line = `${cutToBytes(listenerLine(listener), 400)}\n`;
			const size = byteLength(line);
			if (bytes + size <= TERMINATION_LOG_MAX_BYTES - reserve) {
				text += line;
				bytes += size;
				continue;
			}
		}
		more.set(listener.outcome, (more.get(listener.outcome) ?? 0) + 1);
	}
	addOmitted(more, omitted);
	if (more.size > 0) text += `… and ${[...more.values()].reduce((a, b) => a + b)} more: ${countLine(more)}\n`;
	return cutToBytes(text, TERMINATION_LOG_MAX_BYTES);
}

/**
 * Writes the message synchronously (the process exits right after) and never throws. The file is opened
 * without blocking, so a FIFO nobody reads is skipped rather than waited for; `/dev/termination-log` is
 * never created (outside Kubernetes it is not ours to make), a path the user named is. Under Deno, only with
 * `--allow-write` for it: a permission prompt at a terminal would hold the exit.
 */
export function writeTerminationLog(path: string, report: ShutdownReport, omitted?: Omitted): boolean {
	if (!granted({ name: 'write', path })) return false;
	try {
		const fs = process.getBuiltinModule('node:fs') as typeof Fs;
		const { O_WRONLY, O_TRUNC, O_CREAT, O_NONBLOCK } = fs.constants;
		const flags = O_WRONLY | O_TRUNC | (O_NONBLOCK ?? 0) | (path === DEFAULT_TERMINATION_LOG ? 0 : O_CREAT);
		const fd = fs.openSync(path, flags, 0o644);
		try {
			fs.writeSync(fd, formatTerminationMessage(report, omitted));
		} finally {
			fs.closeSync(fd);
		}
		return true;
	} catch {
		return false;
	}
}
