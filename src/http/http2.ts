// The HTTP/2 side of a drain: a server's sessions and their open streams, a GOAWAY once the server no longer
// accepts, and the end of sessions that would never end by themselves.
import type { Http2Session, ServerHttp2Stream } from 'node:http2';
import { createDebug } from '../debug.js';
import type { DrainState } from './drain-phase.js';
import { peerKey } from './peer-key.js';

const log = createDebug('http');

class Session {
	/** Streams that have not closed yet. */
	active = 0;
	/** `close()` was called: a GOAWAY went out, and the session ends once its streams have. */
	closing = false;
	timer: ReturnType<typeof setTimeout> | undefined;
	/** Its connection's addresses, kept while the session still has its socket (see Http2Sessions#endIdle). */
	readonly key: string;
	constructor(readonly session: Http2Session) {
		this.key = session.socket === undefined ? '' : peerKey(session.socket);
	}
}

/** One server's HTTP/2 sessions, followed from 'session' and 'stream' events. */
export class Http2Sessions {
	readonly #drain: DrainState;
	/** Destroys the TCP connection with these addresses (see #endIdle). */
	readonly #destroyConnection: (key: string) => void;
	readonly #sessions = new Map<Http2Session, Session>();

	constructor(drain: DrainState, destroyConnection: (key: string) => void) {
		this.#drain = drain;
		this.#destroyConnection = destroyConnection;
	}

	get size(): number {
		return this.#sessions.size;
	}

	has(session: Http2Session): boolean {
		return this.#sessions.has(session);
	}

	/** Streams open on every session: what the deadline would cut. */
	activeStreams(): number {
		let streams = 0;
		for (const session of this.#sessions.values()) streams += session.active;
		return streams;
	}

	onSession(session: Http2Session): Session {
		const entry = new Session(session);
		this.#sessions.set(session, entry);
		session.once('close', () => {
			this.#sessions.delete(session);
			clearTimeout(entry.timer);
		});
		if (this.#drain.phase === 'draining') {
			// A session opened while draining serves its first stream (see onStream), or goes after the grace.
			entry.timer = setTimeout(() => this.#close(entry), this.#drain.idleGrace);
			entry.timer.unref();
		}
		return entry;
	}

	onStream(stream: ServerHttp2Stream): void {
		const session = stream.session;
		if (session === undefined) return;
		const entry = this.#sessions.get(session) ?? this.onSession(session);
		entry.active += 1;
		stream.once('close', () => {
			entry.active -= 1;
			this.#drain.progressed();
			if (entry.closing && entry.active === 0) this.#endIdle(entry);
		});
		// The GOAWAY names this stream as the last one processed, so it is served and the client opens no more.
		if (this.#drain.phase === 'draining') this.#close(entry);
	}

	/** Once no longer accepting: every session gets its GOAWAY. */
	closeAll(): void {
		for (const session of this.#sessions.values()) this.#close(session);
	}

	/** The deadline. */
	destroyAll(): void {
		for (const session of this.#sessions.values()) session.session.destroy();
	}

	clearTimers(): void {
		for (const session of this.#sessions.values()) clearTimeout(session.timer);
	}

	/** A graceful close: GOAWAY, streams already open run to completion, then the session ends. */
	#close(entry: Session): void {
		if (entry.closing) return;
		entry.closing = true;
		clearTimeout(entry.timer);
		entry.timer = undefined;
		if (!entry.session.closed && !entry.session.destroyed) entry.session.close();
		if (entry.active === 0) this.#endIdle(entry);
	}

	/**
	 * A session told to go away normally ends with its last stream, but one whose client never sent its preface
	 * (h2c, or TLS with ALPN h2 and nothing after) never ends by itself: with no stream open, it goes after
	 * `idleGrace`. The GOAWAY has told the client which streams were processed, so nothing it sent is lost.
	 */
	#endIdle(entry: Session): void {
		clearTimeout(entry.timer);
		entry.timer = setTimeout(() => {
			entry.timer = undefined;
			if (entry.active > 0) return;
			log('%s: destroying an HTTP/2 session idle since its GOAWAY', this.#drain.name);
			// Without a preface, node marks the session destroyed but leaves its connection open (and emits no
			// 'close'): the TCP socket under it is closed by hand, found by its addresses.
			entry.session.destroy();
			this.#sessions.delete(entry.session);
			this.#destroyConnection(entry.key);
		}, this.#drain.idleGrace);
		entry.timer.unref();
	}
}
