/**
 * A transform stream that prefixes every line of a child's output with `[name] `, byte-safe, with a bound on
 * the length of a line.
 */
import { Transform } from 'node:stream';

const NEWLINE = 0x0a;
const NEWLINE_BUFFER = Buffer.from('\n');

export interface PrefixLinesOptions {
	/**
	 * A line longer than this many bytes is cut and written as several lines, so a child that never writes
	 * a newline cannot make the parent buffer without bound.
	 * @default 65536
	 */
	maxLineLength?: number;
}

/**
 * A stream that writes `prefix` before every line passing through it. Works on bytes, so a multi-byte
 * character split across chunks is not mangled (only a line cut at `maxLineLength` may split one); a last
 * line without a newline gets one when the input ends.
 */
export function createLinePrefixer(prefix: string, { maxLineLength = 65_536 }: PrefixLinesOptions = {}): Transform {
	const head = Buffer.from(prefix);
	let pending: Buffer[] = [];
	let pendingLength = 0;

	return new Transform({
		transform(chunk: Buffer, _encoding, callback) {
			const out: Buffer[] = [];
			let start = 0;
			for (;;) {
				const end = chunk.indexOf(NEWLINE, start);
				if (end === -1) break;
				out.push(head, ...pending, chunk.subarray(start, end + 1));
				pending = [];
				pendingLength = 0;
				start = end + 1;
			}
			let rest = chunk.subarray(start);
			while (rest.length > 0) {
				const room = maxLineLength - pendingLength;
				if (rest.length < room) {
					pending.push(rest);
					pendingLength += rest.length;
					break;
				}
				out.push(head, ...pending, rest.subarray(0, room), NEWLINE_BUFFER);
				pending = [];
				pendingLength = 0;
				rest = rest.subarray(room);
			}
			callback(null, out.length > 0 ? Buffer.concat(out) : undefined);
		},
		flush(callback) {
			callback(null, pendingLength > 0 ? Buffer.concat([head, ...pending, NEWLINE_BUFFER]) : undefined);
		},
	});
}
