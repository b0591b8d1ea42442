/**
 * `process.exit()` drops whatever stdout and stderr still hold in memory. Writes to a pipe (a container's
 * stdout) are asynchronous on POSIX: once the reader falls behind by the pipe's 64 KiB, Node queues the rest,
 * and exiting loses it. Before exiting, the sequence waits until both streams have handed everything to the
 * operating system. When nothing is queued (the usual case, and always for files and terminals, which Node
 * writes synchronously) it costs one look at the process's pending requests and the exit happens at once.
 */

import { writesPending } from './pending-writes.js';
import type { ProcessLike } from './types.js';

const ignore = () => {};

interface WritableLike {
	readonly writableLength?: number;
	readonly writableEnded?: boolean;
	readonly destroyed?: boolean;
	write(chunk: string, callback: (error?: unknown) => void): unknown;
	on(event: string, listener: (...args: unknown[]) => void): unknown;
	once(event: string, listener: (...args: unknown[]) => void): unknown;
	removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
}

function queued(stream: unknown): stream is WritableLike {
	const s = stream as WritableLike | null | undefined;
	try {
		return (
			s != null &&
			typeof s === 'object' &&
			typeof s.writableLength === 'number' &&
			s.writableLength > 0 &&
			s.writableEnded !== true &&
			s.destroyed !== true &&
			typeof s.write === 'function' &&
			typeof s.on === 'function' &&
			typeof s.once === 'function'
		);
	} catch {
		return false;
	}
}

/**
 * Resolves once everything written so far has left the stream: the callback of a zero-length write comes after
 * every earlier write has completed, in order. A stream that fails or closes meanwhile (the reader went away)
 * has nothing left to wait for; its error is taken here rather than crash an exit that is already happening.
 */
function drained(stream: WritableLike): Promise<void> {
	return new Promise((resolve) => {
		const done = () => {
			stream.removeListener('close', done);
			resolve();
		};
		// Kept after we are done: a failed write emits 'error' a tick after its callback, and the exit is near.
		stream.on('error', ignore);
		stream.once('error', done);
		stream.once('close', done);
		try {
			stream.write('', done);
		} catch {
			done();
		}
	});
}

/**
 * Waits for the stdout and stderr of `p` to hand their queued output to the operating system, at most until
 * `until` (epoch ms). Returns undefined, synchronously, when nothing is queued: the caller can exit at once. When
 * the process can tell that no write at all is waiting, the streams are not even looked at (see writesPending).
 */
export function flushStdio(p: ProcessLike, until: number): Promise<void> | undefined {
	if (writesPending(p) === false) return undefined;
	const pending = [p.stdout, p.stderr].filter(queued);
	if (pending.length === 0) return undefined;
	return new Promise((resolve) => {
		const timer = setTimeout(resolve, Math.max(0, until - Date.now()));
		void Promise.all(pending.map(drained)).then(() => {
			clearTimeout(timer);
			resolve();
		});
	});
}
