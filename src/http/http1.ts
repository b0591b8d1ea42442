// The HTTP/1 side of a drain: each connection's responses in flight, `Connection: close` on the response a
// connection ends after, idle connections closed after their grace, sockets handed off to upgrades, and requests
// held back when they could not be answered.
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import { createDebug } from '../debug.js';
import type { DrainState } from './drain-phase.js';
import { type DrainableRequest, requestEnd } from './request-end.js';

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

/** One server's HTTP/1 connections, followed from its 'request' events (and, for plain http, 'connection'). */
export class Http1Connections {
	readonly #drain: DrainState;
	readonly #connections = new Map<net.Socket, Connection>();
	/** Sockets taken over by an `upgrade` or `connect` listener: no longer HTTP, closed by their owner. */
	readonly #handedOff = new Set<net.Socket>();
	/**
	 * The later of the start of the shutdown and the last request read since: while requests still arrive,
	 * someone still routes to this server, and an idle connection closed now may cross a request sent on it.
	 */
	#quietSince = 0;
	#withheld = 0;

	constructor(drain: DrainState) {
		this.#drain = drain;
	}

	/** Connections known, busy and handed off, and requests withheld (see #admit). */
	counts(): { connections: number; busy: number; handedOff: number; withheld: number } {
		let busy = 0;
		for (const connection of this.#connections.values()) if (connection.busy) busy += 1;
		return { connections: this.#connections.size, busy, handedOff: this.#handedOff.size, withheld: this.#withheld };
	}

	/**
	 * What emits 'close' once `request` is over (see requestEnd), knowing the latest response of its connection;
	 * undefined when its connection is not followed here (handed off or not). One lookup of each kind: drainSignal()
	 * asks on every request.
	 */
	requestEnd(request: IncomingMessage): EventEmitter | null | undefined {
		const socket = request.socket;
		if (socket === null) return undefined;
		if (this.#handedOff.has(socket)) return requestEnd(request as DrainableRequest);
		const tracked = this.#connections.get(socket);
		if (tracked === undefined) return undefined;
		// No response in flight on its connection: this request's has finished. Otherwise the latest one is, but
		// for pipelining, this request's.
		return tracked.busy ? requestEnd(request as DrainableRequest, tracked.last) : null;
	}

	track(socket: net.Socket): Connection {
		const connection = new Connection(socket);
		this.#connections.set(socket, connection);
		socket.once('close', () => {
			this.#connections.delete(socket);
			clearTimeout(connection.timer);
		});
		const { phase } = this.#drain;
		if (phase === 'soft' || phase === 'draining') {
			connection.idleSince = Date.now();
			if (phase === 'draining') this.#scheduleIdleClose(connection);
		}
		return connection;
	}

	/** The 'request' listener; true when the request came during the shutdown (a connection became busy). */
	onRequest(request: IncomingMessage, response: ServerResponse): boolean {
		// HTTP/2 requests of the compatibility API are followed through their streams.
		if (request.httpVersionMajor >= 2) return false;
		const socket = request.socket;
		// A connection accepted before drain() was called shows itself with its first request after it.
		const connection = this.#connections.get(socket) ?? this.track(socket);
		connection.last = response;
		connection.pending += 1;
		response.on('finish', connection.release);
		if (this.#drain.phase === 'watching') return false;
		// Only a client that keeps its connection tells that pooled connections are still in use; a health check
		// (HAProxy's closes each connection) must not hold idle ones open.
		if ((response as { shouldKeepAlive?: boolean }).shouldKeepAlive !== false) this.#quietSince = Date.now();
		this.#follow(connection, response);
		return true;
	}

	/** An 'upgrade' or 'connect' listener took `socket` over. */
	handOff(socket: net.Socket): void {
		const connection = this.#connections.get(socket);
		if (connection) {
			clearTimeout(connection.timer);
			this.#connections.delete(socket);
		}
		this.#handedOff.add(socket);
		socket.once('close', () => this.#handedOff.delete(socket));
	}

	/**
	 * The shutdown started: responses already running are followed, so that their connections' idle time counts.
	 * During the delay the server goes on as before, keep-alive included (see Drainer#run).
	 */
	startShutdown(now: number): void {
		this.#quietSince = now;
		for (const connection of this.#connections.values()) if (connection.busy) this.#follow(connection, connection.last!);
	}

	/** No longer accepting: only now do responses say `Connection: close`, and idle connections start their grace. */
	stopAccepting(): void {
		for (const connection of this.#connections.values()) {
			if (!connection.busy) this.#scheduleIdleClose(connection);
			else if (!this.#markClose(connection, connection.last!)) this.#keepOpenAfter(connection, connection.last!);
		}
	}

	/**
	 * `response` told its client the connection stays open (its headers went out before the server stopped
	 * accepting), so the client may send its next request on it as soon as it has read the response. Deno's http
	 * server destroys such a connection when the response finishes if the server no longer listens (its port of
	 * Node's resOnFinish), and there 'finish' comes after the write completes, tens of ms after the client has read
	 * the response under load: a request sent meanwhile was reset, unanswered. That one destroy() is skipped, and the
	 * connection gets what any idle one does during the drain (its grace, and `Connection: close` on a request that
	 * comes). Node never destroys there; the wrapper goes with the response either way.
	 */
	#keepOpenAfter(connection: Connection, response: ServerResponse): void {
		const socket = connection.socket;
		const hadOwn = Object.prototype.hasOwnProperty.call(socket, 'destroy');
		const destroy = socket.destroy;
		const name = this.#drain.name;
		const guarded = function (this: net.Socket, error?: Error): net.Socket {
			// Called by the server as `response` finishes (its 'finish' listener runs before ours, so it is still the
			// latest); not after end(), as a response that closes its connection is ended (destroySoon).
			if (error === undefined && connection.last === response && response.writableFinished && !this.destroyed && !this.writableEnded) {
				log('%s: a keep-alive connection the server closed as its response finished is kept for its grace', name);
				return this;
			}
			return Reflect.apply(destroy, this, [error]) as net.Socket;
		};
		socket.destroy = guarded;
		response.once('close', () => {
			if (socket.destroy !== guarded) return;
			if (hadOwn) socket.destroy = destroy;
			else delete (socket as { destroy?: unknown }).destroy;
		});
	}

	anyIdle(): boolean {
		for (const connection of this.#connections.values()) if (!connection.busy && !connection.socket.destroyed) return true;
		return false;
	}

	anyHandedOff(): boolean {
		return this.#handedOff.size > 0;
	}

	/** Requests whose responses have not finished: what the deadline cuts. */
	inFlight(): number {
		let requests = 0;
		for (const connection of this.#connections.values()) if (connection.busy) requests += Math.max(1, connection.pending);
		return requests;
	}

	/** The deadline. */
	destroyAll(): void {
		for (const connection of this.#connections.values()) connection.socket.destroy();
		for (const socket of this.#handedOff) socket.destroy();
	}

	clearTimers(): void {
		for (const connection of this.#connections.values()) clearTimeout(connection.timer);
	}

	/**
	 * From the start of the shutdown, a request is handed to the handlers only if its response can be written.
	 * Node parses pipelined requests as they come and hands each over at once, also those behind a response that
	 * already said `Connection: close` (a handler that answered synchronously, before the next request was read):
	 * that connection ends after the response, so such a request would run and never be answered, and a client
	 * could not tell whether it ran. Held back, it is never run, and its client retries it elsewhere. Node offers no
	 * hook before the handlers, so the server's `emit` is wrapped; only while draining, so that a request costs
	 * nothing more while the server runs normally. Returns what undoes it.
	 */
	guardRequests(server: net.Server): () => void {
		const hadOwn = Object.prototype.hasOwnProperty.call(server, 'emit');
		const original = server.emit;
		const admit = (request: IncomingMessage) => this.#admit(request);
		const guarded = function (this: net.Server, event: string | symbol, ...args: unknown[]): boolean {
			if ((event === 'request' || event === 'checkContinue' || event === 'checkExpectation') && !admit(args[0] as IncomingMessage)) return true;
			return Reflect.apply(original, this, [event, ...args]) as boolean;
		};
		server.emit = guarded;
		return () => {
			if (server.emit !== guarded) return;
			if (hadOwn) server.emit = original;
			else delete (server as { emit?: unknown }).emit;
		};
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
		log('%s: %s %s read behind a response that closes its connection: not handed over', this.#drain.name, request.method, request.url);
		return false;
	}

	/** During the shutdown: `response` is the latest of its connection; once no longer accepting, the one it closes after. */
	#follow(connection: Connection, response: ServerResponse): void {
		if (connection.timer !== undefined) {
			clearTimeout(connection.timer);
			connection.timer = undefined;
		}
		if (this.#drain.phase === 'draining') this.#markClose(connection, response);
		response.once('close', () => {
			this.#drain.progressed();
			const { phase } = this.#drain;
			// A later request on the same connection is still running.
			if (connection.busy || !(phase === 'soft' || phase === 'draining')) return;
			connection.idleSince = Date.now();
			if (phase === 'draining') this.#scheduleIdleClose(connection);
		});
	}

	/** Gives `response` the `Connection: close` that ends its connection, unless its headers are already out (false). */
	#markClose(connection: Connection, response: ServerResponse): boolean {
		if (response.headersSent) return false;
		const previous = connection.marked;
		// Marked earlier, a pipelined response would close the connection under the requests behind it.
		if (previous !== undefined && previous !== response && !previous.headersSent) previous.removeHeader('Connection');
		response.setHeader('Connection', 'close');
		connection.marked = response;
		return true;
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
		const drain = this.#drain;
		const idleFrom = () => Math.max(connection.idleSince, this.#quietSince);
		connection.timer = setTimeout(
			() => {
				connection.timer = undefined;
				if (drain.phase !== 'draining') return;
				if (idleFrom() + drain.idleGrace > Date.now()) return this.#scheduleIdleClose(connection);
				setImmediate(() => {
					if (connection.busy || drain.phase !== 'draining' || socket.destroyed) return;
					log('%s: closing a connection idle for %d ms', drain.name, Date.now() - idleFrom());
					socket.destroy();
				});
			},
			Math.max(0, idleFrom() + drain.idleGrace - Date.now()),
		);
		connection.timer.unref();
	}
}
