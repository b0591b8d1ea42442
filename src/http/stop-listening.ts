// Stopping a server from accepting while its connections go on: the one way the drain, drain() of a server that
// listens only after the shutdown began, and the deadline all do it. Node and Bun differ here (see ListeningStop).
import net from 'node:net';
import { performance } from 'node:perf_hooks';
// node's own, not the globals: a test's fake timers (jest, vitest) replace those, and would hold the close back.
import { clearImmediate, setImmediate } from 'node:timers';

/** Node's own close() of an http server also destroys idle connections at once: the race a drain avoids. */
const closeListeningSocket = net.Server.prototype.close;

/**
 * At most this long after a stop, connections the kernel has queued are still taken before the listening socket
 * closes (see closeOnceQueueIsEmpty). It bounds the stop when clients keep opening connections as fast as they are taken.
 */
export const ACCEPT_QUEUE_MS = 100;

/** Stops that are taking what the kernel queued: the server → the close, to run now instead (the deadline). */
const pendingCloses = new WeakMap<net.Server, () => void>();

/**
 * Stops `server` from accepting without touching its connections: on node with net.Server's close(), not the
 * http server's, once the connections the kernel already queued are taken. `onStopped` once it no longer accepts
 * (the listening socket is closed), `onClosed` once its last connection is gone too. Bun's node:http server is no
 * net.Server; its own close() is the only way there (see ListeningStop).
 */
export function stopListening(server: net.Server, onClosed?: () => void, onStopped?: () => void): void {
	if (!((server as unknown) instanceof net.Server)) {
		server.close();
		onStopped?.();
		return;
	}
	if (pendingCloses.has(server)) {
		// Stopped already, and about to close: 'close' comes once its last connection is gone too.
		if (onStopped !== undefined) server.once('close', () => onStopped());
		if (onClosed !== undefined) server.once('close', () => onClosed());
		return;
	}
	const stop = answerLaterCloses(server);
	closeOnceQueueIsEmpty(server, () => {
		stop.closing = false;
		if (server.listening) closeListeningSocket.call(server, onClosed === undefined ? undefined : () => onClosed());
		else if (onClosed !== undefined) whenClosed(server, onClosed);
		onStopped?.();
	});
}

/** Closes the listening socket of a stop that is still taking queued connections, now (the deadline). */
export function stopListeningNow(server: net.Server): void {
	pendingCloses.get(server)?.();
}

/**
 * Closing a listening socket resets every connection the kernel completed into its queue but the process has not
 * taken yet, after the client sent its request on it: a proxy gets a reset it may not retry (nginx: a 502 for a
 * POST). Node takes one queued connection per turn of the event loop, and a loop that was busy when the stop
 * came has a queue. So the close waits for a turn of the loop (a whole poll phase, between two check phases)
 * that took no connection, at most ACCEPT_QUEUE_MS; what it took is served like every other connection. Until
 * then responses keep their keep-alive (the drain's `Connection: close` starts with the close, see Drainer#stop):
 * a proxy whose pooled connections were closed would open new ones meanwhile, to be caught by the close. What is
 * left is a connection completed in the moment between that last poll and the close.
 */
function closeOnceQueueIsEmpty(server: net.Server, close: () => void): void {
	let taken = 0;
	let seen = -1;
	const onConnection = () => {
		taken += 1;
	};
	const until = performance.now() + ACCEPT_QUEUE_MS;
	const done = () => {
		pendingCloses.delete(server);
		clearImmediate(turn);
		server.removeListener('connection', onConnection);
		close();
	};
	// The first check may run before any poll (a stop made in the poll phase runs its check in the same turn): `seen`
	// starts at -1, so it only records, and the close comes at the first check after a poll that took nothing.
	const check = () => {
		if (taken === seen || performance.now() >= until) return done();
		seen = taken;
		turn = setImmediate(check);
	};
	server.on('connection', onConnection);
	let turn = setImmediate(check);
	pendingCloses.set(server, done);
}

/** `onGone` once a server that no longer listens has no connection left (at once if it has none). */
function whenClosed(server: net.Server, onGone: () => void): void {
	server.getConnections((error, count) => {
		if (error || count === 0) onGone();
		else server.once('close', () => onGone());
	});
}

/**
 * An application may keep its own `server.close(callback)` beside drain(), in a listener of its own or through a
 * framework. Once the drain has closed the listening socket (or decided to: `closing`, while queued connections
 * are taken), node would call that callback with ERR_SERVER_NOT_RUNNING and fail the application's listener,
 * though the server is drained as it asked; and node's http close() would destroy the idle keep-alive connections
 * the drain still gives their grace. So the server's close() answers as if it had come first: nothing more is
 * done, and the callback is called once the server has closed (at once if it has). While the server listens
 * (again), node's own close() is used.
 */
function answerLaterCloses(server: net.Server): { closing: boolean } {
	const stop = { closing: true };
	const original = server.close;
	let closed = false;
	server.once('close', () => (closed = true));
	const close = function (this: net.Server, callback?: (error?: Error) => void): net.Server {
		if (this.listening && !stop.closing) return Reflect.apply(original, this, [callback]) as net.Server;
		if (typeof callback === 'function') {
			if (closed) process.nextTick(callback);
			else this.once('close', () => callback());
		}
		return this;
	};
	Object.defineProperty(server, 'close', { value: close, writable: true, configurable: true, enumerable: false });
	return stop;
}

/** What a stop needs to know of the connections the drain follows. */
export interface OpenConnections {
	/** Whether an HTTP/1 connection is idle at this instant. */
	anyIdle(): boolean;
	/** Whether any connection accepted since the drain began watching is still open. */
	anyOpen(): boolean;
}

/**
 * Stops one server from accepting, once, and says when its last connection is gone. On node, net.Server's close()
 * does both. Bun's close() stops Bun's own server, which closes the connections idle at that instant, and nothing
 * else stops it from accepting. So there close() waits for an instant when no connection is idle (each one in use
 * then ends after a response that says `Connection: close`, so under load that instant comes within a request or
 * two), or for `idleGrace`, after which closing an idle connection is what the grace allows anyway; the end is
 * then seen from the sockets themselves.
 */
export class ListeningStop {
	readonly #server: net.Server;
	readonly #connections: OpenConnections;
	#requested = false;
	/** Bun: the close() of the server, until no connection is idle. */
	#closeWhenBusy: (() => void) | undefined;
	/** Bun: where no server 'close' says when the last connection is gone, a check run as each one goes. */
	#onSocketGone: (() => void) | undefined;
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(server: net.Server, connections: OpenConnections) {
		this.#server = server;
		this.#connections = connections;
	}

	/**
	 * Stops accepting; `onStopped` once it no longer accepts (on Bun: at once, see below), `onGone` once every
	 * connection is gone. A server someone else closed is only watched.
	 */
	stop(onGone: () => void, idleGrace: number, onStopped: () => void): void {
		const server = this.#server;
		if (this.#requested) return;
		if (!server.listening) {
			// Someone else closed it already: 'close' comes when its last connection goes, unless that was before.
			onStopped();
			whenClosed(server, onGone);
			return;
		}
		this.#requested = true;
		if ((server as unknown) instanceof net.Server) {
			stopListening(server, onGone, onStopped);
			return;
		}
		// Bun: its close() waits for an instant when no connection is idle, which `Connection: close` brings.
		onStopped();
		const close = () => {
			this.#closeWhenBusy = undefined;
			server.close();
			const check = () => {
				if (this.#connections.anyOpen()) return;
				server.getConnections((error: Error | null, count: number) => {
					if (error || count === 0) onGone();
				});
			};
			this.#onSocketGone = check;
			check();
		};
		if (!this.#connections.anyIdle()) {
			close();
			return;
		}
		this.#closeWhenBusy = close;
		this.#timer = setTimeout(() => this.#closeWhenBusy?.(), Math.max(0, idleGrace));
		this.#timer.unref();
	}

	/** The deadline: stop accepting now, whatever is idle. */
	stopNow(): void {
		if (!this.#requested && this.#server.listening) {
			this.#requested = true;
			stopListening(this.#server);
		}
		if ((this.#server as unknown) instanceof net.Server) stopListeningNow(this.#server);
		this.#closeWhenBusy?.();
	}

	/** A connection became busy: Bun's close() may go now. */
	connectionBusy(): void {
		if (this.#closeWhenBusy !== undefined && !this.#connections.anyIdle()) this.#closeWhenBusy();
	}

	/** A connection closed: the last one may be gone, and Bun's close() may go now. */
	connectionClosed(): void {
		this.#onSocketGone?.();
		this.connectionBusy();
	}

	dispose(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}
}
