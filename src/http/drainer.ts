import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session, ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createDebug } from '../debug.js';
import type { ListenerContext } from '../types.js';
import { DrainTimeoutError } from './drain-timeout-error.js';
import type { DrainPhase, DrainState } from './drain-phase.js';
import { Http2Sessions } from './http2.js';
import { peerKey } from './peer-key.js';
import type { ServerKind } from './server-kind.js';
import { DEFAULT_SPREAD, Spread, spreadWindow } from './spread.js';
import { addSignalSource, removeSignalSource, type SignalSource } from './spread-registry.js';
import { type DrainableRequest, requestEnd } from './request-end.js';
import { ListeningStop } from './stop-listening.js';
import { TlsHandshakes } from './tls-handshakes.js';

const log = createDebug('http');

/** An HTTP/1 connection: a socket that carries requests (for TLS, the TLS socket). */
class Connection {
	/**
	 * Its latest response until that one finishes. Pipelined responses finish in order, so the connection is
	 * busy exactly while this is set. A reference and one shared 'finish' listener are all the bookkeeping a
	 * request costs while the server runs normally.
	 */
	last: ServerResponse | undefined = undefined;
	/** The response we gave `Connection: close`: a request pipelined behind it takes the mark over. */
	marked: ServerResponse | undefined = undefined;
	/** Responses not finished yet (several when requests are pipelined): what the deadline would cut. */
	pending = 0;
	/** When it last became idle; only kept once shutdown has started, when it matters. */
	idleSince = 0;
	timer: ReturnType<typeof setTimeout> | undefined;
	/** Forgets a finished response at once, so that it and its request (and any parsed body) can be collected. */
	readonly release: (this: ServerResponse) => void;

	constructor(readonly socket: net.Socket) {
		const connection = this;
		this.release = function (this: ServerResponse) {
			connection.pending -= 1;
			if (connection.last === this) connection.last = undefined;
			if (connection.marked === this) connection.marked = undefined;
		};
	}

	get busy(): boolean {
		return this.last !== undefined;
	}
}

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
	/** Requests read behind a response that closes their connection, never handed to a handler (see #admit). */
	withheld: number;
}

/**
 * Follows one server's connections from the moment it is created and drains them when `run()` is called.
 * Everything is driven by socket, response and session events; there is no polling.
 */
export class Drainer implements SignalSource {
	readonly name: string;
	readonly #server: net.Server;
	readonly #options: DrainerOptions;
	#phase: DrainPhase = 'watching';
	#softAt = 0;
	/**
	 * The later of the start of the shutdown and the last HTTP/1 request read since: while requests still arrive,
	 * someone still routes to this server, and an idle connection closed now may cross a request sent on it.
	 */
	#quietSince = 0;
	#startedAt = 0;
	/** Every TCP connection accepted since we started watching: what the deadline destroys. */
	readonly #raw = new Set<net.Socket>();
	readonly #connections = new Map<net.Socket, Connection>();
	readonly #sessions: Http2Sessions;
	readonly #handedOff = new Set<net.Socket>();
	/** TLS servers: TCP connections whose handshake has not completed. */
	readonly #handshakes: TlsHandshakes;
	/** What the parts of the drain read of it. */
	readonly #state: DrainState;
	readonly #detachers: Array<() => void> = [];
	readonly #timers = new Set<ReturnType<typeof setTimeout>>();
	#abort: { signal: AbortSignal; listener: () => void } | undefined;
	#settle: { resolve(): void; reject(error: unknown): void } | undefined;
	#withheld = 0;
	/** Stops the server from accepting, once (see ListeningStop). */
	readonly #listening: ListeningStop;
	/** drainSignal()'s signals for this server's connections, and the schedule that aborts them. */
	readonly #spread: Spread;
	/** When whatever is left gets destroyed: the force-quit deadline, or `timeout` if earlier. */
	#deadline = Number.POSITIVE_INFINITY;

	constructor(server: net.Server, options: DrainerOptions) {
		this.#server = server;
		this.#options = options;
		this.name = options.name;
		this.#spread = new Spread(options.name, options.onFirstSignal);
		const drainer = this;
		this.#state = {
			name: options.name,
			idleGrace: options.idleGrace,
			get phase() {
				return drainer.#phase;
			},
			get softAt() {
				return drainer.#softAt;
			},
			setTimer: (fn, ms) => this.#setTimer(fn, ms),
		};
		this.#handshakes = new TlsHandshakes(this.#state);
		this.#sessions = new Http2Sessions(this.#state, (key) => {
			for (const socket of this.#raw) if (peerKey(socket) === key) socket.destroy();
		});
		this.#listening = new ListeningStop(server, {
			anyIdle: () => this.#anyIdle(),
			anyOpen: () => this.#raw.size > 0 || this.#handedOff.size > 0,
		});
		this.#attach();
		addSignalSource(this);
	}

	get phase(): DrainPhase {
		return this.#phase;
	}

	snapshot(): DrainerSnapshot {
		let busy = 0;
		for (const connection of this.#connections.values()) if (connection.busy) busy += 1;
		return {
			phase: this.#phase,
			connections: this.#connections.size,
			idle: this.#connections.size - busy,
			busy,
			sessions: this.#sessions.size,
			handedOff: this.#handedOff.size,
			signals: this.#spread.size,
			withheld: this.#withheld,
		};
	}

	/** drainSignal()'s way in: the signal for `request`, if its connection is one this drainer follows. */
	signalFor(request: DrainableRequest): AbortSignal | undefined {
		if (this.#phase === 'done') return undefined;
		let connection: object;
		let end: NodeJS.EventEmitter | null;
		if ('stream' in request) {
			const stream = request.stream;
			if (stream.session === undefined || !this.#sessions.has(stream.session)) return undefined;
			connection = stream;
			end = requestEnd(request);
		} else {
			const socket = request.socket;
			const handedOff = this.#handedOff.has(socket);
			if (!handedOff && !this.#connections.has(socket) && !this.#raw.has(socket)) return undefined;
			connection = socket;
			const tracked = handedOff ? undefined : this.#connections.get(socket);
			// No response in flight on its connection: this request's has finished. Otherwise the latest one is, but
			// for pipelining, this request's.
			end = tracked !== undefined && !tracked.busy ? null : requestEnd(request, tracked?.last);
		}
		// Over: nothing left to end, and nothing to hold for it.
		if (end === null) return new AbortController().signal;
		return this.#spread.signal(connection, request, end);
	}

	/** The wrap-up listener: resolves once the last connection is gone, rejects when it had to cut requests. */
	run(context: ListenerContext): Promise<void> {
		if (this.#phase !== 'watching') return Promise.reject(new Error(`\`${this.name}\` is already draining`));
		const promise = new Promise<void>((resolve, reject) => {
			this.#settle = { resolve, reject };
		});
		const now = Date.now();
		this.#startedAt = now;
		this.#softAt = now;
		this.#quietSince = now;
		this.#phase = 'soft';
		log('%s: shutdown started, delay %d ms, %o', this.name, this.#options.delay, this.snapshot());
		this.#guardRequests();

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

		// Responses already running are followed, so that their connections' idle time counts. During the delay the
		// server goes on as before, keep-alive included: a `Connection: close` (or GOAWAY) now would only make
		// clients and proxies open new connections to a server about to stop accepting, and a connection still in
		// the listen backlog when it stops is reset by the kernel after its request was sent (see #stop).
		for (const connection of this.#connections.values()) if (connection.busy) this.#follow(connection, connection.last!);

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

	/** Stops watching the server; used when the listener is removed before shutdown. */
	detach(): void {
		for (const detach of this.#detachers.splice(0)) detach();
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers.clear();
		for (const connection of this.#connections.values()) clearTimeout(connection.timer);
		this.#sessions.clearTimers();
		this.#spread.stop();
		this.#listening.dispose();
		removeSignalSource(this);
	}

	#on(emitter: NodeJS.EventEmitter, event: string, listener: (...args: any[]) => void, prepend = false): void {
		if (prepend) emitter.prependListener(event, listener);
		else emitter.on(event, listener);
		this.#detachers.push(() => emitter.removeListener(event, listener));
	}

	#attach(): void {
		const server = this.#server;
		const { kind } = this.#options;
		this.#on(server, 'connection', (socket: net.Socket) => this.#onRawConnection(socket));
		if (kind === 'https' || kind === 'http2') {
			this.#on(server, 'secureConnection', (socket: TLSSocket) => this.#handshakes.completed(socket));
		}
		if (kind === 'https') this.#on(server, 'secureConnection', (socket: TLSSocket) => this.#track(socket));
		if (kind === 'http2') {
			// With `allowHTTP1`, a TLS connection that did not negotiate h2 is served as HTTP/1.
			this.#on(server, 'secureConnection', (socket: TLSSocket) => {
				if (socket.alpnProtocol !== 'h2') this.#track(socket);
			});
		}
		if (kind === 'http2' || kind === 'h2c') {
			this.#on(server, 'session', (session: Http2Session) => this.#sessions.onSession(session));
			this.#on(server, 'stream', (stream: ServerHttp2Stream) => this.#sessions.onStream(stream));
		}
		// Added first, so that a handler answering synchronously still gets `Connection: close` during the drain.
		// An http2 server without 'request' listeners is used through its stream API: adding one would switch on
		// node's compatibility layer for every stream.
		if (kind === 'http' || kind === 'https' || server.listenerCount('request') > 0) {
			const onRequest = (request: IncomingMessage, response: ServerResponse) => this.#onRequest(request, response);
			this.#on(server, 'request', onRequest, true);
			// A request with `Expect:` goes to these instead of 'request' when the application listens to them.
			this.#alongside(['checkContinue', 'checkExpectation'], onRequest);
		}
		if (kind === 'http' || kind === 'https') {
			this.#alongside(['upgrade', 'connect'], (_request: IncomingMessage, socket: net.Socket) => this.#handOff(socket));
		}
	}

	/**
	 * Listens to `events` (prepended) only while the application does too: listening to one of these alone would
	 * change what node does with such requests. 'upgrade' and 'connect': a socket taken over by such a listener
	 * (WebSockets) is no longer HTTP; its owner closes it (WebSockets with 1001 Going Away), and only the deadline
	 * destroys it. 'checkContinue' and 'checkExpectation': without a listener, node answers the expectation itself
	 * and emits 'request'.
	 */
	#alongside(events: readonly string[], ours: (...args: any[]) => void): void {
		const server = this.#server;
		const attached = new Set<string>();
		const attach = (event: string) => {
			attached.add(event);
			server.prependListener(event, ours);
		};
		const onNew = (event: string | symbol, listener: unknown) => {
			if (typeof event === 'string' && events.includes(event) && listener !== ours && !attached.has(event)) attach(event);
		};
		const onRemove = (event: string | symbol, listener: unknown) => {
			if (typeof event !== 'string' || !attached.has(event) || listener === ours) return;
			if (server.listenerCount(event) === 1) {
				attached.delete(event);
				server.removeListener(event, ours);
			}
		};
		for (const event of events) if (server.listenerCount(event) > 0) attach(event);
		server.on('newListener', onNew);
		server.on('removeListener', onRemove);
		this.#detachers.push(() => {
			server.removeListener('newListener', onNew);
			server.removeListener('removeListener', onRemove);
			for (const event of attached) server.removeListener(event, ours);
		});
	}

	/**
	 * From the start of the shutdown, a request is handed to the handlers only if its response can be written.
	 * Node parses pipelined requests as they come and hands each over at once, also those behind a response that
	 * already said `Connection: close` (a handler that answered synchronously, before the next request was read):
	 * that connection ends after the response, so such a request would run and never be answered, and a client
	 * could not tell whether it ran. Held back, it is never run, and its client retries it elsewhere. Node offers no
	 * hook before the handlers, so the server's `emit` is wrapped; only while draining, so that a request costs
	 * nothing more while the server runs normally.
	 */
	#guardRequests(): void {
		const server = this.#server;
		const hadOwn = Object.prototype.hasOwnProperty.call(server, 'emit');
		const original = server.emit;
		const admit = (request: IncomingMessage) => this.#admit(request);
		const guarded = function (this: net.Server, event: string | symbol, ...args: unknown[]): boolean {
			if ((event === 'request' || event === 'checkContinue' || event === 'checkExpectation') && !admit(args[0] as IncomingMessage)) return true;
			return Reflect.apply(original, this, [event, ...args]) as boolean;
		};
		server.emit = guarded;
		this.#detachers.push(() => {
			if (server.emit !== guarded) return;
			if (hadOwn) server.emit = original;
			else delete (server as { emit?: unknown }).emit;
		});
	}

	/** Whether `request` can still be answered on its connection; counts and logs it when not. */
	#admit(request: IncomingMessage): boolean {
		if (request.httpVersionMajor >= 2) return true;
		const socket = request.socket;
		const last = this.#connections.get(socket)?.last;
		const closing =
			socket.destroyed ||
			socket.writableEnded ||
			(last !== undefined && last.headersSent && /\bclose\b/i.test(String(last.getHeader('connection') ?? '')));
		if (!closing) return true;
		this.#withheld += 1;
		log('%s: %s %s read behind a response that closes its connection: not handed over', this.name, request.method, request.url);
		return false;
	}

	#onRawConnection(socket: net.Socket): void {
		this.#raw.add(socket);
		socket.once('close', () => {
			this.#raw.delete(socket);
			this.#listening.connectionClosed();
		});
		const { kind } = this.#options;
		if (kind === 'http') this.#track(socket);
		else if (kind === 'https' || kind === 'http2') this.#handshakes.add(socket);
	}

	#track(socket: net.Socket): Connection {
		const connection = new Connection(socket);
		this.#connections.set(socket, connection);
		socket.once('close', () => {
			this.#connections.delete(socket);
			clearTimeout(connection.timer);
		});
		if (this.#phase === 'soft' || this.#phase === 'draining') {
			connection.idleSince = Date.now();
			if (this.#phase === 'draining') this.#scheduleIdleClose(connection);
		}
		return connection;
	}

	#onRequest(request: IncomingMessage, response: ServerResponse): void {
		// HTTP/2 requests of the compatibility API are followed through their streams.
		if (request.httpVersionMajor >= 2) return;
		const socket = request.socket;
		// A connection accepted before drain() was called shows itself with its first request after it.
		const connection = this.#connections.get(socket) ?? this.#track(socket);
		connection.last = response;
		connection.pending += 1;
		response.on('finish', connection.release);
		if (this.#phase !== 'watching') {
			// Only a client that keeps its connection tells that pooled connections are still in use; a health check
			// (HAProxy's closes each connection) must not hold idle ones open.
			if ((response as { shouldKeepAlive?: boolean }).shouldKeepAlive !== false) this.#quietSince = Date.now();
			this.#follow(connection, response);
			this.#listening.connectionBusy();
		}
	}

	/** During the shutdown: `response` is the latest of its connection; once no longer accepting, the one it closes after. */
	#follow(connection: Connection, response: ServerResponse): void {
		if (connection.timer !== undefined) {
			clearTimeout(connection.timer);
			connection.timer = undefined;
		}
		if (this.#phase === 'draining') this.#markClose(connection, response);
		response.once('close', () => {
			// A later request on the same connection is still running.
			if (connection.busy || !(this.#phase === 'soft' || this.#phase === 'draining')) return;
			connection.idleSince = Date.now();
			if (this.#phase === 'draining') this.#scheduleIdleClose(connection);
		});
	}

	/** Gives `response` the `Connection: close` that ends its connection, unless its headers are already out. */
	#markClose(connection: Connection, response: ServerResponse): void {
		if (!response.headersSent) {
			const previous = connection.marked;
			// Marked earlier, a pipelined response would close the connection under the requests behind it.
			if (previous !== undefined && previous !== response && !previous.headersSent) previous.removeHeader('Connection');
			response.setHeader('Connection', 'close');
			connection.marked = response;
		}
	}

	#handOff(socket: net.Socket): void {
		const connection = this.#connections.get(socket);
		if (connection) {
			clearTimeout(connection.timer);
			this.#connections.delete(socket);
		}
		this.#handedOff.add(socket);
		socket.once('close', () => this.#handedOff.delete(socket));
	}

	/**
	 * Closes a connection once it has been idle for `idleGrace`, counted from the latest of: when it became idle,
	 * the start of the shutdown, the last request the server read. A proxy that pools connections (nginx) goes on
	 * sending on them until it sees the listener refuse, and each such request gets `Connection: close`; an idle
	 * one closed while requests still come in could cross one sent on it. Once nothing has come in for that long
	 * (a load balancer that checks readiness stopped sending long ago), idle connections close at once. Requests
	 * after the stop only come on open connections, each of which then closes, so the quiet comes. The close waits
	 * one more turn of the event loop (timers → poll → check), so that a request already sitting in the socket is
	 * read and served instead of reset.
	 */
	#scheduleIdleClose(connection: Connection): void {
		const { socket } = connection;
		// Node closes it by itself after a `Connection: close` response.
		if (socket.destroyed || socket.writableEnded) return;
		clearTimeout(connection.timer);
		const idleFrom = () => Math.max(connection.idleSince, this.#quietSince);
		connection.timer = setTimeout(
			() => {
				connection.timer = undefined;
				if (this.#phase !== 'draining') return;
				if (idleFrom() + this.#options.idleGrace > Date.now()) return this.#scheduleIdleClose(connection);
				setImmediate(() => {
					if (connection.busy || this.#phase !== 'draining' || socket.destroyed) return;
					log('%s: closing a connection idle for %d ms', this.name, Date.now() - idleFrom());
					socket.destroy();
				});
			},
			Math.max(0, idleFrom() + this.#options.idleGrace - Date.now()),
		);
		connection.timer.unref();
	}

	/** After the delay: stop accepting, and let idle connections go after their grace. */
	#stop(): void {
		if (this.#phase !== 'soft') return;
		this.#phase = 'draining';
		const server = this.#server;
		log('%s: no longer accepting, %o', this.name, this.snapshot());
		this.#listening.stop(() => this.#finish(), this.#options.idleGrace);
		// Only now do responses say `Connection: close` (HTTP/2: GOAWAY): see run().
		for (const connection of this.#connections.values()) {
			if (connection.busy) this.#markClose(connection, connection.last!);
			else this.#scheduleIdleClose(connection);
		}
		this.#sessions.closeAll();
		this.#handshakes.closeStalled();
		const closeIdle = (server as { closeIdleConnections?: () => void }).closeIdleConnections;
		if (typeof closeIdle === 'function') {
			server.getConnections((error, count) => {
				// More connections than we saw accepted: some predate drain(), and node's own bookkeeping is the only
				// way to reach those that stay idle.
				if (error || count <= this.#raw.size) return;
				log('%s: %d connections predate drain()', this.name, count - this.#raw.size);
				this.#setTimer(() => {
					if (this.#phase === 'draining') closeIdle.call(server);
				}, this.#options.idleGrace);
			});
		}
		// Long-lived streams (drainSignal()) are told to end one connection at a time, over the spread.
		this.#spread.start(spreadWindow(this.#options.spread ?? DEFAULT_SPREAD, this.#deadline - Date.now()));
	}

	#anyIdle(): boolean {
		for (const connection of this.#connections.values()) if (!connection.busy && !connection.socket.destroyed) return true;
		return false;
	}

	/** The deadline: destroy whatever is left. */
	#cut(): void {
		if (this.#phase === 'cut' || this.#phase === 'done') return;
		const wasPhase = this.#phase;
		this.#phase = 'cut';
		let requests = 0;
		for (const connection of this.#connections.values()) if (connection.busy) requests += Math.max(1, connection.pending);
		requests += this.#sessions.activeStreams();
		const elapsed = Date.now() - this.#startedAt;
		log('%s: deadline after %d ms (%s), destroying %o', this.name, elapsed, wasPhase, this.snapshot());
		const server = this.#server;
		this.#listening.stopNow();
		// Streams not reached yet get their abort now, so their handlers clean up; their sockets go next.
		this.#spread.reachAll();
		for (const connection of this.#connections.values()) connection.socket.destroy();
		this.#sessions.destroyAll();
		for (const socket of this.#handedOff) socket.destroy();
		for (const socket of this.#raw) socket.destroy();
		(server as { closeAllConnections?: () => void }).closeAllConnections?.();
		this.#finish(requests > 0 ? new DrainTimeoutError(this.name, requests, elapsed) : undefined);
	}

	#finish(error?: Error): void {
		if (this.#phase === 'done') return;
		if (this.#phase !== 'cut') log('%s: drained in %d ms', this.name, Date.now() - this.#startedAt);
		this.#phase = 'done';
		if (this.#abort) this.#abort.signal.removeEventListener('abort', this.#abort.listener);
		this.detach();
		if (error) this.#settle?.reject(error);
		else this.#settle?.resolve();
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
