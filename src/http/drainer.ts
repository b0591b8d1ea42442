// One server's drain as a phase machine: watching → soft (the delay) → draining (no longer accepting) → done,
// or cut at the deadline. What each kind of connection needs is in its own part: http1.ts, http2.ts,
// tls-handshakes.ts, and stop-listening.ts for the listening socket.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session, ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createDebug } from '../debug.js';
import { addDrainInProgress, type DrainInProgress, drainProgressed, removeDrainInProgress } from '../drains-in-progress.js';
import type { ListenerContext } from '../types.js';
import type { DrainPhase, DrainState } from './drain-phase.js';
import { DrainTimeoutError } from './drain-timeout-error.js';
import { Http1Connections } from './http1.js';
import { Http2Sessions } from './http2.js';
import { listenAlongside } from './listen-alongside.js';
import { peerKey } from './peer-key.js';
import { type DrainableRequest, requestEnd } from './request-end.js';
import type { ServerKind } from './server-kind.js';
import { DEFAULT_SPREAD, Spread, spreadWindow } from './spread.js';
import { addSignalSource, removeSignalSource, type SignalSource } from './spread-registry.js';
import { ListeningStop } from './stop-listening.js';
import { TlsHandshakes } from './tls-handshakes.js';

const log = createDebug('http');

export interface DrainerOptions {
	readonly name: string;
	readonly kind: ServerKind;
	readonly delay: number;
	readonly idleGrace: number;
	readonly timeout: number | undefined;
	/** Over how many ms after the delay drainSignal()'s aborts are spread. */
	readonly spread?: number;
	/** Called when the first request asks for its drain signal (drain() reserves the spread's time then). */
	readonly onFirstSignal?: () => void;
}

/** What a white-box test can see of a drainer. */
export interface DrainerSnapshot {
	phase: DrainPhase;
	/** HTTP/1 connections known, and how many of them are idle. */
	connections: number;
	idle: number;
	/** Connections with a response in flight. */
	busy: number;
	sessions: number;
	/** Sockets taken over by an `upgrade` or `connect` listener. */
	handedOff: number;
	/** Requests holding a drainSignal() that has not aborted yet. */
	signals: number;
	/** Connections those requests are on (they share one signal per connection). */
	signalConnections: number;
	/** Requests read behind a response that closes their connection, never handed to a handler (see Http1Connections#admit). */
	withheld: number;
}

/**
 * Follows one server's connections from the moment it is created and drains them when `run()` is called.
 * Everything is driven by socket, response and session events; there is no polling.
 */
export class Drainer implements SignalSource, DrainInProgress {
	readonly name: string;
	readonly #server: net.Server;
	readonly #options: DrainerOptions;
	#phase: DrainPhase = 'watching';
	/** The delay is over and the listening socket is closing (see #stop): still `soft` until it has closed. */
	#stopping = false;
	/** When the shutdown started (the start of `soft`). */
	#startedAt = 0;
	/** When whatever is left gets destroyed: the force-quit deadline, or `timeout` if earlier. */
	#deadline = Number.POSITIVE_INFINITY;
	/** Every TCP connection accepted since we started watching: what the deadline destroys. */
	readonly #raw = new Set<net.Socket>();
	readonly #http1: Http1Connections;
	readonly #http2: Http2Sessions;
	/** TLS servers: TCP connections whose handshake has not completed. */
	readonly #handshakes: TlsHandshakes;
	/** Stops the server from accepting, once. */
	readonly #listening: ListeningStop;
	/** drainSignal()'s signals for this server's connections, and the schedule that aborts them. */
	readonly #spread: Spread;
	/** What undoes each listener and wrapper put on the server, and the timers: cleared when the drain ends. */
	readonly #detachers: Array<() => void> = [];
	readonly #timers = new Set<ReturnType<typeof setTimeout>>();
	/** The listener's promise, and the force-quit signal's listener. */
	#settle: { resolve(): void; reject(error: unknown): void } | undefined;
	#abort: { signal: AbortSignal; listener: () => void } | undefined;

	constructor(server: net.Server, options: DrainerOptions) {
		this.#server = server;
		this.#options = options;
		this.name = options.name;
		const drainer = this;
		const state: DrainState = {
			name: options.name,
			idleGrace: options.idleGrace,
			get phase() {
				return drainer.#phase;
			},
			get softAt() {
				return drainer.#startedAt;
			},
			progressed: () => this.#progressed(),
			setTimer: (fn, ms) => this.#setTimer(fn, ms),
		};
		this.#http1 = new Http1Connections(state);
		this.#http2 = new Http2Sessions(state, (key) => {
			for (const socket of this.#raw) if (peerKey(socket) === key) socket.destroy();
		});
		this.#handshakes = new TlsHandshakes(state);
		this.#listening = new ListeningStop(server, {
			anyIdle: () => this.#http1.anyIdle(),
			anyOpen: () => this.#raw.size > 0 || this.#http1.anyHandedOff(),
		});
		this.#spread = new Spread(options.name, options.onFirstSignal);
		this.#attach();
		addSignalSource(this);
	}

	get phase(): DrainPhase {
		return this.#phase;
	}

	snapshot(): DrainerSnapshot {
		const { connections, busy, handedOff, withheld } = this.#http1.counts();
		return {
			phase: this.#phase,
			connections,
			idle: connections - busy,
			busy,
			sessions: this.#http2.size,
			handedOff,
			signals: this.#spread.size,
			signalConnections: this.#spread.connections,
			withheld,
		};
	}

	/** What the drain still holds: requests whose responses have not finished, and TCP connections still open. */
	counts(): { requests: number; connections: number } {
		return { requests: this.#http1.inFlight() + this.#http2.activeStreams(), connections: this.#raw.size };
	}

	/** drainSignal()'s way in: the signal for `request`, if its connection is one this drainer follows. */
	signalFor(request: DrainableRequest): AbortSignal | undefined {
		if (this.#phase === 'done') return undefined;
		let connection: NodeJS.EventEmitter;
		let end: NodeJS.EventEmitter | null;
		if ('stream' in request) {
			const stream = request.stream;
			if (stream.session === undefined || !this.#http2.has(stream.session)) return undefined;
			connection = stream;
			end = requestEnd(request);
		} else {
			const socket = request.socket;
			const followed = this.#http1.requestEnd(request);
			if (followed === undefined && !this.#raw.has(socket)) return undefined;
			connection = socket;
			end = followed === undefined ? requestEnd(request) : followed;
		}
		// Over: nothing left to end, and nothing to hold for it.
		if (end === null) return new AbortController().signal;
		return this.#spread.signal(connection, end);
	}

	/** watching → soft: the wrap-up listener. Resolves once the last connection is gone, rejects when it had to cut requests. */
	run(context: ListenerContext): Promise<void> {
		if (this.#phase !== 'watching') return Promise.reject(new Error(`\`${this.name}\` is already draining`));
		const promise = new Promise<void>((resolve, reject) => {
			this.#settle = { resolve, reject };
		});
		const now = Date.now();
		this.#startedAt = now;
		this.#phase = 'soft';
		addDrainInProgress(this);
		log('%s: shutdown started, delay %d ms, %o', this.name, this.#options.delay, this.snapshot());
		this.#detachers.push(this.#http1.guardRequests(this.#server));

		// The force-quit deadline comes as `context.signal` aborting (the proc reports it as forced); only an
		// earlier `timeout` needs a timer of its own.
		const { timeout } = this.#options;
		this.#deadline = timeout !== undefined ? Math.min(context.deadline, now + timeout) : context.deadline;
		if (timeout !== undefined && now + timeout < context.deadline) this.#setTimer(() => this.#cut(), timeout);
		const listener = () => this.#cut();
		if (context.signal.aborted) {
			queueMicrotask(listener);
		} else {
			context.signal.addEventListener('abort', listener, { once: true });
			this.#abort = { signal: context.signal, listener };
		}

		// During the delay the server goes on as before, keep-alive included: a `Connection: close` (or GOAWAY) now
		// would only make clients and proxies open new connections to a server about to stop accepting, and a
		// connection still in the listen backlog when it stops is reset by the kernel after its request was sent.
		this.#http1.startShutdown(now);

		if (this.#options.delay > 0) {
			// Keeps the shutdown alive on purpose: the server has to go on serving for this long.
			const timer = setTimeout(() => {
				this.#timers.delete(timer);
				this.#stop();
			}, this.#options.delay);
			this.#timers.add(timer);
		} else {
			this.#stop();
		}
		return promise;
	}

	/** Stops watching the server; used when the listener is removed before shutdown, and when the drain ends. */
	detach(): void {
		for (const detach of this.#detachers.splice(0)) detach();
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers.clear();
		this.#http1.clearTimers();
		this.#http2.clearTimers();
		this.#spread.stop();
		this.#listening.dispose();
		removeSignalSource(this);
		removeDrainInProgress(this);
	}

	/** soft → draining, after the delay: stop accepting, and let idle connections go after their grace. */
	#stop(): void {
		if (this.#phase !== 'soft' || this.#stopping) return;
		this.#stopping = true;
		log('%s: stopping accepting, %o', this.name, this.snapshot());
		this.#listening.stop(() => this.#finish(), this.#options.idleGrace, () => this.#stoppedAccepting());
	}

	/** The listening socket closed, after the kernel's queue was taken (stopListening); responses kept keep-alive until now. */
	#stoppedAccepting(): void {
		if (this.#phase !== 'soft') return;
		this.#phase = 'draining';
		log('%s: no longer accepting', this.name);
		// Only now do responses say `Connection: close` (HTTP/2: GOAWAY): see run().
		this.#http1.stopAccepting();
		this.#http2.closeAll();
		this.#handshakes.closeStalled();
		this.#closePredating();
		// Long-lived streams (drainSignal()) are told to end one connection at a time, over the spread.
		this.#spread.start(spreadWindow(this.#options.spread ?? DEFAULT_SPREAD, this.#deadline - Date.now()));
	}

	/** soft or draining → cut, at the deadline: destroy whatever is left. */
	#cut(): void {
		if (this.#phase === 'cut' || this.#phase === 'done') return;
		const wasPhase = this.#phase;
		this.#phase = 'cut';
		const requests = this.#http1.inFlight() + this.#http2.activeStreams();
		const elapsed = Date.now() - this.#startedAt;
		log('%s: deadline after %d ms (%s), destroying %o', this.name, elapsed, wasPhase, this.snapshot());
		this.#listening.stopNow();
		// Streams not reached yet get their abort now, so their handlers clean up; their sockets go next.
		this.#spread.reachAll();
		this.#http1.destroyAll();
		this.#http2.destroyAll();
		for (const socket of this.#raw) socket.destroy();
		(this.#server as { closeAllConnections?: () => void }).closeAllConnections?.();
		this.#finish(requests > 0 ? new DrainTimeoutError(this.name, requests, elapsed) : undefined);
	}

	/** → done: the last connection is gone (or the deadline destroyed what was left). */
	#finish(error?: Error): void {
		if (this.#phase === 'done') return;
		if (this.#phase !== 'cut') log('%s: drained in %d ms', this.name, Date.now() - this.#startedAt);
		this.#phase = 'done';
		if (this.#abort) this.#abort.signal.removeEventListener('abort', this.#abort.listener);
		this.detach();
		if (error) this.#settle?.reject(error);
		else this.#settle?.resolve();
	}

	/**
	 * More connections than we saw accepted: some predate drain(), and node's own bookkeeping is the only way to
	 * reach those that stay idle. They go after the grace.
	 */
	#closePredating(): void {
		const server = this.#server;
		const closeIdle = (server as { closeIdleConnections?: () => void }).closeIdleConnections;
		if (typeof closeIdle !== 'function') return;
		server.getConnections((error, count) => {
			if (error || count <= this.#raw.size) return;
			log('%s: %d connections predate drain()', this.name, count - this.#raw.size);
			this.#setTimer(() => {
				if (this.#phase === 'draining') closeIdle.call(server);
			}, this.#options.idleGrace);
		});
	}

	/** Wires the server's events to the parts of the drain; each is undone by detach(). */
	#attach(): void {
		const server = this.#server;
		const { kind } = this.#options;
		const http1 = this.#http1;
		this.#on(server, 'connection', (socket: net.Socket) => this.#onRawConnection(socket));
		if (kind === 'https' || kind === 'http2') {
			this.#on(server, 'secureConnection', (socket: TLSSocket) => this.#handshakes.completed(socket));
		}
		if (kind === 'https') this.#on(server, 'secureConnection', (socket: TLSSocket) => http1.track(socket));
		if (kind === 'http2') {
			// With `allowHTTP1`, a TLS connection that did not negotiate h2 is served as HTTP/1.
			this.#on(server, 'secureConnection', (socket: TLSSocket) => {
				if (socket.alpnProtocol !== 'h2') http1.track(socket);
			});
		}
		if (kind === 'http2' || kind === 'h2c') {
			this.#on(server, 'session', (session: Http2Session) => this.#http2.onSession(session));
			this.#on(server, 'stream', (stream: ServerHttp2Stream) => this.#http2.onStream(stream));
		}
		// Added first, so that a handler answering synchronously still gets `Connection: close` during the drain.
		// An http2 server without 'request' listeners is used through its stream API: adding one would switch on
		// node's compatibility layer for every stream.
		if (kind === 'http' || kind === 'https' || server.listenerCount('request') > 0) {
			const onRequest = (request: IncomingMessage, response: ServerResponse) => {
				if (http1.onRequest(request, response)) this.#listening.connectionBusy();
			};
			this.#on(server, 'request', onRequest, true);
			// A request with `Expect:` goes to these instead of 'request' when the application listens to them.
			this.#detachers.push(listenAlongside(server, ['checkContinue', 'checkExpectation'], onRequest));
		}
		if (kind === 'http' || kind === 'https') {
			const onHandOff = (_request: IncomingMessage, socket: net.Socket) => http1.handOff(socket);
			this.#detachers.push(listenAlongside(server, ['upgrade', 'connect'], onHandOff));
		}
	}

	#on(emitter: NodeJS.EventEmitter, event: string, listener: (...args: any[]) => void, prepend = false): void {
		if (prepend) emitter.prependListener(event, listener);
		else emitter.on(event, listener);
		this.#detachers.push(() => emitter.removeListener(event, listener));
	}

	#onRawConnection(socket: net.Socket): void {
		this.#raw.add(socket);
		socket.once('close', () => {
			this.#raw.delete(socket);
			this.#listening.connectionClosed();
			this.#progressed();
		});
		const { kind } = this.#options;
		if (kind === 'http') this.#http1.track(socket);
		else if (kind === 'https' || kind === 'http2') this.#handshakes.add(socket);
	}

	/** Word of a step while draining (the systemd STATUS lines hear of it); nothing while watching or once cut. */
	#progressed(): void {
		if (this.#phase === 'soft' || this.#phase === 'draining') drainProgressed();
	}

	#setTimer(fn: () => void, ms: number): void {
		const timer = setTimeout(() => {
			this.#timers.delete(timer);
			fn();
		}, Math.max(0, ms));
		timer.unref();
		this.#timers.add(timer);
	}
}
