/**
 * Compiles the shutdown sequence before it is needed: a throwaway sequence on an inert process-like object, run
 * once per process in an idle moment after the watchdog thread is made, so that a real shutdown does not pay
 * V8's compilation of the sequence on its critical path, nor ask then what it can ask before.
 */
import { envVar } from './env.js';
import { idleSoon } from './idle-soon.js';
import { writesPending } from './pending-writes.js';
import { primeTerminalCheck } from './terminal-notice.js';
import type { Proc, ProcessLike, ProcOptions } from './types.js';

const WARMED_UP = Symbol.for('graceful-proc.warmedUp');

export interface WarmUp {
	/** Makes an isolated proc (the proc's own constructor: this module does not import it). */
	makeProc(options: ProcOptions): Proc;
	/** What a signal reads of the real watchdog (which signals arrived), which changes nothing. */
	readArrivals(): void;
}

/**
 * V8 compiles a function the first time it is called, so without this the first shutdown of a process compiles
 * the whole sequence on its critical path: about 0.7 ms of a five-listener shutdown (measured: bench/RESULTS.md).
 * A process that has a watchdog is a service that will be stopped; in an idle moment after the first listener
 * is registered, a throwaway sequence on an inert process-like object runs that code once, started the way a
 * signal starts it and ended the way a real one exits, and a second one is forced at its deadline. It touches
 * nothing real: no handler, no exit, no output; its timers are cleared when it ends, a few microtasks or one 0 ms
 * timer later.
 */
export function warmUpOnce(warmUp: WarmUp): void {
	const registry = globalThis as Record<symbol, unknown>;
	// Under DEBUG the throwaway sequence would show in the logs as a shutdown; a debugging session can spare 0.5 ms.
	if (registry[WARMED_UP] || envVar('DEBUG')) return;
	registry[WARMED_UP] = true;
	idleSoon(() => {
		try {
			writesPending(globalThis.process);
			primeTerminalCheck();
			warmUp.readArrivals();
			// The sequence is started the way a signal starts it, so that the signal's path is compiled as well.
			let onSignal: (() => void) | undefined;
			const on = (event: string, handler: () => void) => {
				if (event === 'SIGTERM') onSignal = handler;
			};
			const inert = { on, removeListener() {}, kill: () => true, exit() {}, pid: 0 } as unknown as ProcessLike;
			// `exit: true`, so that the way out (waiting for output, then exit) is compiled too; the inert exit() does nothing.
			const proc = warmUp.makeProc({ process: inert, exit: true, logger: false, pm2: false, signals: ['SIGTERM'] });
			proc.addWrapUpListener(() => {}, { name: 'warm-up' });
			proc.addShutdownListener(async () => {}, { name: 'warm-up' });
			onSignal?.();
			// And a sequence forced at its deadline (a timer of 0 ms): the report of a forced end, and its summary.
			const forced = warmUp.makeProc({ process: inert, exit: true, logger: false, pm2: false, signals: [] });
			forced.setTimeToForceQuit(0);
			forced.addWrapUpListener(() => new Promise(() => {}), { name: 'warm-up' });
			forced.shutdown('warm-up').catch(() => {});
		} catch {}
	});
}
