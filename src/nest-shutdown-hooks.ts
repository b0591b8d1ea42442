// Nest's own signal handlers, the ones `app.enableShutdownHooks()` puts on the process, handed over to the
// sequence: taken off the signals that start it, so that one SIGTERM runs one shutdown (drain, then app.close())
// instead of two racing ones. Nest's handlers on other signals stay. Read from Nest's fields, duck-typed.
import { createDebug } from './debug.js';
import { proc as defaultProc } from './index.js';
import { defaultSignals, SIGNALS_HANDLED } from './signals.js';
import type { ProcessLike, Proc } from './types.js';

const log = createDebug('nest');

/**
 * A field of the app itself. Nest hands out its application behind a Proxy that wraps every function read
 * through it in its exception zone, so a handler read as `app.x` is not the one on the process; the property's
 * descriptor passes through the Proxy untouched.
 */
export function nestField(app: object, key: string): unknown {
	try {
		return Object.getOwnPropertyDescriptor(app, key)?.value;
	} catch {
		return undefined;
	}
}

/**
 * Nest's handler per signal, as enableShutdownHooks() recorded them: a Map of signal to handler (Nest 12), or
 * one handler and the list of its signals (Nest 8 to 11).
 */
function nestHandlers(app: object): Array<[string, Function]> {
	const refs = nestField(app, 'shutdownCleanupRefs');
	if (refs instanceof Map) {
		return [...refs].filter((entry): entry is [string, Function] => typeof entry[0] === 'string' && typeof entry[1] === 'function');
	}
	const ref = nestField(app, 'shutdownCleanupRef');
	const active = nestField(app, 'activeShutdownSignals');
	if (typeof ref !== 'function' || !Array.isArray(active)) return [];
	return active.filter((signal): signal is string => typeof signal === 'string').map((signal) => [signal, ref]);
}

/** Where the proc's sequence starts: its process and signals; a proc of another copy may not say (see signals.ts). */
function handledBy(proc: Proc): { process: ProcessLike; signals: readonly string[] } | undefined {
	const ask = (proc as unknown as Record<symbol, (() => { process: ProcessLike; signals: readonly string[] }) | undefined>)[SIGNALS_HANDLED];
	if (typeof ask === 'function') return ask.call(proc);
	// The process-wide proc of an older copy listens on the real process, with the default signals unless configured.
	return proc === defaultProc ? { process: globalThis.process, signals: defaultSignals(globalThis.process.platform) } : undefined;
}

/**
 * Takes Nest's handlers off the signals that start `proc`'s sequence. Nest keeps its record of them, so a later
 * enableShutdownHooks() does not put them back, and app.close() removes what is left as usual. Returns what puts
 * them back (for a gracefulNest() call that fails after this).
 */
export function takeOverShutdownHooks(app: object, proc: Proc): () => void {
	const handlers = nestHandlers(app);
	if (handlers.length === 0) return () => {};
	const handled = handledBy(proc);
	if (handled === undefined || handled.process !== globalThis.process) {
		log("enableShutdownHooks(): Nest's handlers are on this process, the proc's sequence is not; left as they are");
		return () => {};
	}
	const taken: Array<[string, Function]> = [];
	const kept: string[] = [];
	for (const [signal, handler] of handlers) {
		if (!process.listeners(signal as NodeJS.Signals).includes(handler as NodeJS.SignalsListener)) continue;
		if (!handled.signals.includes(signal)) {
			kept.push(signal);
			continue;
		}
		process.removeListener(signal, handler as NodeJS.SignalsListener);
		taken.push([signal, handler]);
	}
	if (taken.length > 0) {
		log(
			"took over Nest's enableShutdownHooks() handler on %s: the sequence calls app.close() after the drain instead%s",
			taken.map(([signal]) => signal).join(', '),
			kept.length > 0 ? `; Nest's handler stays on ${kept.join(', ')}, which do not start the sequence` : '',
		);
	}
	return () => {
		for (const [signal, handler] of taken) process.on(signal, handler as NodeJS.SignalsListener);
	};
}
