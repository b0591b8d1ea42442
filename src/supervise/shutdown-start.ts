/**
 * One 'abort' listener per proc signal for every supervised child, so that many children do not trip Node's
 * MaxListenersExceededWarning; the listener goes with the last child.
 */
import { createDebug } from '../debug.js';

const log = createDebug('supervise');

interface Fanout {
	readonly callbacks: Set<() => void>;
	readonly onAbort: () => void;
}

/** Per proc signal: one 'abort' listener, however many children are supervised. */
const fanouts = new WeakMap<AbortSignal, Fanout>();

/**
 * Calls `fn` when `signal` (a proc's `signal`) aborts, through one listener per signal shared by every
 * supervised child: a listener per child trips Node's MaxListenersExceededWarning at eleven listeners (ten
 * children and a health ticker), a false alarm about a leak that is not one. Returns the unsubscribe
 * function; the shared listener is removed with the last callback, so stopped handles leave nothing behind.
 */
export function onShutdownStart(signal: AbortSignal, fn: () => void): () => void {
	let fanout = fanouts.get(signal);
	if (fanout === undefined) {
		const callbacks = new Set<() => void>();
		const onAbort = (): void => {
			fanouts.delete(signal);
			for (const callback of [...callbacks]) {
				try {
					callback();
				} catch (error) {
					log('a shutdown-start callback threw: %s', error instanceof Error ? error.message : typeof error);
				}
			}
		};
		fanout = { callbacks, onAbort };
		fanouts.set(signal, fanout);
		signal.addEventListener('abort', onAbort, { once: true });
	}
	// A wrapper per call, so the same function subscribed twice is unsubscribed one at a time.
	const entry = (): void => fn();
	const own = fanout;
	own.callbacks.add(entry);
	return () => {
		if (!own.callbacks.delete(entry) || own.callbacks.size > 0) return;
		signal.removeEventListener('abort', own.onAbort);
		if (fanouts.get(signal) === own) fanouts.delete(signal);
	};
}
