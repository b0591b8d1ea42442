// The spread: drainSignal()'s signals for one server's connections, and the schedule that aborts them one
// connection at a time over `spread` ms, so that the clients of long-lived streams do not all reconnect at once.
import type { EventEmitter } from 'node:events';
import { reusableController } from './reusable-controller.js';

/**
 * 10 s: with Kubernetes' default grace period of 30 s, a 5 s `delay` + 10 s of spread + 1 s for the last streams
 * to close leaves the slowest requests and the shutdown phase (pools, consumers) more than 10 s before SIGKILL,
 * while a reconnect storm of every client at once becomes a tenth of it per second.
 */
export const DEFAULT_SPREAD = 10_000;

/** What a stream gets, after its abort, to close by itself (a WebSocket's closing handshake, the SSE's last event). */
export const SPREAD_TAIL = 1000;

/**
 * The window the aborts are spread over: `spread`, unless the deadline (`msLeft` away) comes first; then the window
 * ends a tail before it (1 s, or a quarter of the time left), so that the last streams still close by themselves.
 */
export function spreadWindow(spread: number, msLeft: number): number {
	if (!(msLeft > 0)) return 0;
	return Math.max(0, Math.min(spread, msLeft - Math.min(SPREAD_TAIL, msLeft / 4)));
}

interface ConnectionEntry {
	/** Shared by the connection's requests that asked and are not over yet. */
	readonly controller: AbortController;
	/** How many of them. */
	live: number;
}

/**
 * The signals drainSignal() handed out for one server's connections, and the schedule that aborts them: after
 * the drain's `delay`, one connection at a time, evenly over the `spread`, so that the clients of long-lived
 * streams do not all reconnect to the remaining instances in the same instant.
 *
 * Only connections whose requests asked are kept, each until those requests are over (their responses closed; for
 * an upgraded socket, the socket closed): a long poll that asks on every request of a keep-alive connection holds
 * one entry at a time, and one AbortController that later requests reuse while nothing listens to it.
 */
export class Spread {
	/** Connection (socket, or HTTP/2 stream) → the controller its live requests that asked share. */
	readonly #connections = new Map<object, ConnectionEntry>();
	/**
	 * A connection's controller once its requests are over, kept for the next request on it that asks (see
	 * reusableController). Weak: nothing is kept for a connection that is gone.
	 */
	readonly #spare = new WeakMap<object, AbortController>();
	#live = 0;
	/** Connections the schedule has yet to reach, once it has started; a request asking on another is reached at once. */
	#pending: Set<object> | undefined;
	#timer: ReturnType<typeof setTimeout> | undefined;
	readonly #reason: () => unknown;
	#onFirst: (() => void) | undefined;

	/** `onFirst` is called when the first request asks: from then on, the drain has streams to spread. */
	constructor(name: string, onFirst?: () => void) {
		// The reason says which drain ended the stream.
		this.#reason = () => new DOMException(`\`${name}\` is draining: end this stream`, 'AbortError');
		this.#onFirst = onFirst;
	}

	/** Requests whose signal is held (for white-box tests: it goes back to 0 when their streams are gone). */
	get size(): number {
		return this.#live;
	}

	/** Connections held for their live requests (for white-box tests). */
	get connections(): number {
		return this.#connections.size;
	}

	/**
	 * The signal of `request` on `connection`, shared with the connection's other requests that asked and are not
	 * over (the drain reaches them together anyway). `over` emits `'close'` when the request no longer needs it (its
	 * response, or its upgraded socket, closed). drainSignal() keeps it on the request: asking again gives the same one.
	 */
	signal(connection: object, over: EventEmitter): AbortSignal {
		if (this.#onFirst !== undefined) {
			const onFirst = this.#onFirst;
			this.#onFirst = undefined;
			onFirst();
		}
		if (this.#pending !== undefined && !this.#pending.has(connection)) {
			// The schedule has passed this connection, or it was not open when the spread began. Aborted a moment
			// later, not now: a listener added right after the call (what every handler does) still hears it.
			const controller = new AbortController();
			const reason = this.#reason();
			queueMicrotask(() => controller.abort(reason));
			return controller.signal;
		}
		let entry = this.#connections.get(connection);
		if (entry === undefined) {
			entry = { controller: reusableController(this.#spare.get(connection)), live: 0 };
			this.#connections.set(connection, entry);
		}
		entry.live += 1;
		this.#live += 1;
		const held = entry;
		over.once('close', () => this.#forget(connection, held));
		return entry.controller.signal;
	}

	/**
	 * Starts the schedule: the connections known now are reached one by one, the i-th of n at `i * window / n` ms
	 * from now, so the first goes at once and the last a share before the end of the window. Times are counted
	 * from the start, so a late timer does not push the rest back.
	 */
	start(window: number): void {
		if (this.#pending !== undefined) return;
		const queue: Array<object | undefined> = [...this.#connections.keys()];
		this.#pending = new Set(queue as object[]);
		const count = queue.length;
		if (count === 0) return;
		const startedAt = Date.now();
		let next = 0;
		const tick = () => {
			this.#timer = undefined;
			const elapsed = Date.now() - startedAt;
			while (next < count && (next * window) / count <= elapsed) {
				const connection = queue[next]!;
				// Dropped as it is reached: the queue holds no connection it is done with.
				queue[next++] = undefined;
				this.#reach(connection);
			}
			if (next < count) {
				// Keeps the shutdown alive on purpose, like the drain's delay: the streams are waiting for it.
				this.#timer = setTimeout(tick, Math.max(0, Math.ceil((next * window) / count - elapsed)));
			} else {
				queue.length = 0;
			}
		};
		tick();
	}

	/** The deadline: whatever was not reached yet is reached now (its connection is being destroyed anyway). */
	reachAll(): void {
		this.stop();
		if (this.#pending === undefined) this.#pending = new Set();
		for (const connection of [...this.#connections.keys()]) this.#reach(connection);
	}

	/** No more aborts (the drain is over, or was removed). */
	stop(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	#reach(connection: object): void {
		this.#pending?.delete(connection);
		const entry = this.#connections.get(connection);
		if (entry === undefined) return;
		this.#connections.delete(connection);
		this.#live -= entry.live;
		entry.live = 0;
		entry.controller.abort(this.#reason());
	}

	#forget(connection: object, entry: ConnectionEntry): void {
		// Reached already (its requests were counted out then), or a later entry of the same connection.
		if (entry.live === 0 || this.#connections.get(connection) !== entry) return;
		entry.live -= 1;
		this.#live -= 1;
		if (entry.live === 0) {
			this.#connections.delete(connection);
			this.#pending?.delete(connection);
			this.#spare.set(connection, entry.controller);
		}
	}
}
