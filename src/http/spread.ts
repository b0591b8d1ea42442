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
	/** Shared by the connection's requests that asked and are not over yet; kept for the next ones while it lasts. */
	controller: AbortController;
	/** How many of them. */
	live: number;
	/** Called once per request that asked, when it is over (one function per connection, none per request). */
	readonly release: () => void;
}

/**
 * The signals drainSignal() handed out for one server's connections, and the schedule that aborts them: after
 * the drain's `delay`, one connection at a time, evenly over the `spread`, so that the clients of long-lived
 * streams do not all reconnect to the remaining instances in the same instant.
 *
 * A connection whose requests asked keeps one entry, with one AbortController, until it closes; it counts (for
 * the schedule and the drain) only while one of those requests is not over (its response closed; for an upgraded
 * socket, the socket closed). A long poll that asks on every request of a keep-alive connection holds one entry
 * and one controller, which later requests reuse while nothing listens to it (see reusableController).
 */
export class Spread {
	/** Connection (socket, or HTTP/2 stream) → its entry, from its first request that asked until it closes. */
	readonly #connections = new Map<EventEmitter, ConnectionEntry>();
	/** Requests that asked and are not over, and the connections they are on. */
	#live = 0;
	#liveConnections = 0;
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

	/** Connections those requests are on (for white-box tests). */
	get connections(): number {
		return this.#liveConnections;
	}

	/** Connections with an entry, their requests over or not (for white-box tests: one per open connection at most). */
	get entries(): number {
		return this.#connections.size;
	}

	/**
	 * The signal of a request on `connection`, shared with the connection's other requests that asked and are not
	 * over (the drain reaches them together anyway). `over` emits `'close'` when the request no longer needs it (its
	 * response, or its upgraded socket, closed). drainSignal() keeps it on the request: asking again gives the same one.
	 */
	signal(connection: EventEmitter, over: EventEmitter): AbortSignal {
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
			entry = this.#entry(connection);
		} else if (entry.live === 0) {
			entry.controller = reusableController(entry.controller);
		}
		if (entry.live === 0) this.#liveConnections += 1;
		entry.live += 1;
		this.#live += 1;
		// Not once(): a response or an upgraded socket closes once, and once() would make a wrapper per request.
		over.on('close', entry.release);
		return entry.controller.signal;
	}

	#entry(connection: EventEmitter): ConnectionEntry {
		const entry: ConnectionEntry = {
			controller: reusableController(undefined),
			live: 0,
			release: () => {
				// 0: reached already, its requests counted out then.
				if (entry.live === 0) return;
				entry.live -= 1;
				this.#live -= 1;
				if (entry.live === 0) {
					this.#liveConnections -= 1;
					this.#pending?.delete(connection);
				}
			},
		};
		this.#connections.set(connection, entry);
		connection.once('close', () => {
			if (this.#connections.get(connection) === entry) this.#connections.delete(connection);
		});
		return entry;
	}

	/** Connections with a request that asked and is not over. */
	#liveKeys(): EventEmitter[] {
		const keys: EventEmitter[] = [];
		for (const [connection, entry] of this.#connections) if (entry.live > 0) keys.push(connection);
		return keys;
	}

	/**
	 * Starts the schedule: the connections known now are reached one by one, the i-th of n at `i * window / n` ms
	 * from now, so the first goes at once and the last a share before the end of the window. Times are counted
	 * from the start, so a late timer does not push the rest back.
	 */
	start(window: number): void {
		if (this.#pending !== undefined) return;
		const queue: Array<object | undefined> = this.#liveKeys();
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
		for (const connection of this.#liveKeys()) this.#reach(connection);
	}

	/** No more aborts (the drain is over, or was removed). */
	stop(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	#reach(connection: object): void {
		this.#pending?.delete(connection);
		const entry = this.#connections.get(connection as EventEmitter);
		if (entry === undefined) return;
		this.#connections.delete(connection as EventEmitter);
		if (entry.live === 0) return;
		this.#live -= entry.live;
		this.#liveConnections -= 1;
		entry.live = 0;
		entry.controller.abort(this.#reason());
	}
}
