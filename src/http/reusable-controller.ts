// The AbortController a connection's requests share for drainSignal(): Node makes an AbortSignal slowly (a few µs,
// as much as a hello-world request costs), so one is made per connection and made again only when needed.
import { getEventListeners } from 'node:events';

/** Set on a signal made here once a listener was added to it: only then is it worth asking Node which. */
const kListenedTo = Symbol('graceful-proc.listenedTo');

type Watched = AbortSignal & { [kListenedTo]?: boolean };

/** The runtime's own addEventListener and `onabort` accessor, found when the first controller is made here. */
let inherited: { add: AbortSignal['addEventListener']; onabort: PropertyDescriptor | undefined } | undefined;

/** One function for every signal made here: it marks the signal, then adds as the runtime does. */
function addEventListener(this: Watched, ...args: Parameters<AbortSignal['addEventListener']>): void {
	this[kListenedTo] = true;
	Reflect.apply(inherited!.add, this, args);
}

function setOnabort(this: Watched, value: unknown): void {
	this[kListenedTo] = true;
	Reflect.apply(inherited!.onabort!.set!, this, [value]);
}

const MARKING_ADD = { value: addEventListener, writable: true, configurable: true, enumerable: false };
let markingOnabort: PropertyDescriptor | undefined;

/** What the runtime's signals inherit; and whether its `onabort` setter adds through addEventListener (Node, Deno) or not (Bun). */
function findInherited(signal: AbortSignal): void {
	let onabort: PropertyDescriptor | undefined;
	for (let proto: object | null = Object.getPrototypeOf(signal); proto !== null && onabort === undefined; proto = Object.getPrototypeOf(proto)) {
		onabort = Object.getOwnPropertyDescriptor(proto, 'onabort');
	}
	inherited = { add: signal.addEventListener, onabort };
	if (onabort?.set !== undefined) {
		const probe: Watched = new AbortController().signal;
		Object.defineProperty(probe, 'addEventListener', MARKING_ADD);
		probe.onabort = () => {};
		if (probe[kListenedTo] !== true) markingOnabort = { ...onabort, set: setOnabort };
	}
}

/**
 * A new controller whose signal marks itself when a listener is added: an own `addEventListener` that marks, then
 * adds as usual (and, where the runtime's `onabort` setter does not add through it, an own `onabort` setter that
 * marks too). Everything that listens to a signal comes through them: `addEventListener` itself, `onabort`,
 * events.once() and addAbortListener(), util.aborted(), fetch, timers/promises (in Node, Deno and Bun). So the
 * signal of a connection whose requests never listen is reused without asking Node for its listeners, which cost
 * about as much as the rest of drainSignal() together.
 */
function watchedController(): AbortController {
	const controller = new AbortController();
	const { signal } = controller;
	if (inherited === undefined) findInherited(signal);
	Object.defineProperty(signal, 'addEventListener', MARKING_ADD);
	if (markingOnabort !== undefined) Object.defineProperty(signal, 'onabort', markingOnabort);
	return controller;
}

/**
 * `previous` again when nothing can tell it was handed out before (not aborted, no 'abort' listener left by an
 * earlier request), otherwise a new controller. Listeners an earlier request left on a shared signal would pile
 * up on a keep-alive connection for its lifetime, and fire for requests long over; dropping that signal lets them
 * go with it. `previous` must have been made here (or be undefined).
 */
export function reusableController(previous: AbortController | undefined): AbortController {
	if (previous !== undefined) {
		const signal: Watched = previous.signal;
		if (signal.aborted) return watchedController();
		if (signal[kListenedTo] !== true) return previous;
		// Listened to once: reused only if every listener has been removed since.
		if (getEventListeners(signal, 'abort').length === 0) {
			signal[kListenedTo] = false;
			return previous;
		}
	}
	return watchedController();
}

/**
 * Where drainSignal() keeps the signal it gave a request, on the request itself, so that asking again gives the
 * same one and nothing outlives the request. Shared by every copy of the package (Symbol.for).
 */
export const GIVEN_SIGNAL = Symbol.for('graceful-proc.drainSignal');
