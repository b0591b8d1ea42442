/**
 * `exitWithParent()`, for node children: notices that the parent is gone (`process.ppid` changed) and starts
 * the child's own graceful shutdown, under any parent, supervise or not.
 */
import { createDebug } from '../debug.js';
import { proc as processWideProc } from '../index.js';
import { procInForce } from '../testing-protocol.js';
import type { Proc } from '../types.js';
import { assertDuration, assertOptions, expected } from '../validate.js';

const log = createDebug('supervise');

export interface ExitWithParentOptions {
	/**
	 * Milliseconds between two looks at the parent.
	 * @default 1000
	 */
	interval?: number;
	/**
	 * The proc to shut down when the parent is gone.
	 * @default the process-wide proc
	 */
	proc?: Proc;
}

/**
 * For a node child that should not outlive its parent, however the parent dies: when the parent is gone
 * (the child was handed to another process, so `process.ppid` changed), it starts the child's own graceful
 * shutdown with the reason `'parent exited'`. Needs no help from the parent, so it works under any
 * supervisor; `supervise()`'s watchdog does the same from the outside for children of any kind.
 * Returns a function that stops watching. The timer is unref'd and ends with shutdown.
 *
 * @example
 * import { exitWithParent } from 'graceful-proc/supervise'
 * exitWithParent()
 */
export function exitWithParent(options?: ExitWithParentOptions): () => void {
	assertOptions('options', options, ['interval', 'proc']);
	const interval = options?.interval === undefined ? 1000 : options.interval;
	assertDuration('options.interval', interval, { min: 1 });
	const proc = options?.proc === undefined ? procInForce(processWideProc) : options.proc;
	if (proc === null || typeof proc !== 'object' || typeof proc.shutdown !== 'function' || !(proc.signal instanceof AbortSignal)) {
		throw new TypeError(expected('options.proc', 'a proc from createProc()', proc));
	}

	const parent = process.ppid;
	const timer = setInterval(() => {
		if (process.ppid === parent) return;
		log('parent %d is gone (now %d); shutting down', parent, process.ppid);
		stop();
		void proc.shutdown('parent exited');
	}, interval);
	timer.unref?.();
	const stop = (): void => {
		clearInterval(timer);
		proc.signal.removeEventListener('abort', stop);
	};
	proc.signal.addEventListener('abort', stop, { once: true });
	return stop;
}
