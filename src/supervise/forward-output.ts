/**
 * Copying a child's (prefixed) output to a destination with only `write()` required: backpressure when the
 * destination is a stream, never ended, and a destination that throws costs a chunk, not the parent.
 */
import type { Readable } from 'node:stream';
import { createDebug } from '../debug.js';

const log = createDebug('supervise');

/**
 * Where a child's prefixed lines go: anything with `write()`. A stream (process.stdout, a file stream, a
 * logger's destination) also gets backpressure: when `write()` returns false and it has `once('drain')`,
 * reading pauses until it drains.
 */
export interface OutputDestination {
	write(chunk: Uint8Array): unknown;
}

interface Drainable {
	once(event: 'drain', listener: () => void): unknown;
}

/**
 * Copies `source` into `destination` without ever ending it (the parent's stdout outlives every child), and
 * with nothing but `write()` required: `pipe()` would also call `on()`, `emit()` and friends, which a
 * `{ write() {} }` does not have. A `write()` that throws loses that chunk, never the parent.
 */
export function forwardOutput(source: Readable, destination: OutputDestination): void {
	const drainable = typeof (destination as Partial<Drainable>).once === 'function';
	let warned = false;
	source.on('data', (chunk: Buffer) => {
		let accepted: unknown;
		try {
			accepted = destination.write(chunk);
		} catch (error) {
			if (!warned) {
				warned = true;
				log('output destination threw: %s', error instanceof Error ? error.message : typeof error);
			}
			return;
		}
		if (accepted === false && drainable) {
			source.pause();
			try {
				(destination as unknown as Drainable).once('drain', () => source.resume());
			} catch {
				source.resume();
			}
		}
	});
}
