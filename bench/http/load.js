// Keep-alive load with an honest account of every request, for the drain tests, bench/http.bench.js and
// examples/demo.js. Not a bench itself (bench/run.js only runs *.bench.js).
//
// Every request ends in one of three outcomes:
// - answered: the whole response arrived.
// - refused: it failed before its bytes were handed to the kernel (the connection was refused, or the
//   socket died before the request was written; HTTP/2: the session was already going away, or the server
//   refused the stream with REFUSED_STREAM / a GOAWAY naming an earlier stream). Nothing reached the server,
//   by construction, so a client can retry it anywhere: this is the normal end of a drain.
// - lost: it was sent (the request 'finish'ed: written to the socket) and then the connection was reset or
//   hung up, or no answer came within `hangMs`. The client cannot know whether it ran. `seen` (filled in by
//   the caller from the server's list of request ids) tells the two kinds apart: the server read it and
//   failed it (what "accepted and failed" means), or it never read it (the keep-alive race: the request
//   crossed the server closing an idle connection, and the kernel reset it).
// `reused` records whether the request went out on a pooled connection that had served requests before.
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * @param {object} options
 * @param {number} options.port
 * @param {'http' | 'https' | 'h2'} [options.protocol]
 * @param {string | Buffer} [options.ca] certificate to trust for https / h2
 * @param {number} [options.loops] concurrent request loops (more than `sockets` keeps requests queued in the agent)
 * @param {number} [options.sockets] keep-alive sockets in the pool (h2: sessions)
 * @param {number} [options.minMs] fastest handler time asked for
 * @param {number} [options.maxMs] slowest handler time asked for
 * @param {number} [options.thinkMs] each loop waits 0..thinkMs between requests, so pooled sockets go idle
 * @param {number} [options.streamShare] share of requests (0..1) sent to `/stream`, whose response headers go out
 *   before the handler's wait: in flight when the drain starts, they cannot get `Connection: close` any more
 * @param {number} [options.busyMs] synchronous work after each response, as a client that does something with
 *   it: its event loop then notices a server's FIN later, which is how a real network's latency widens the
 *   window in which a request crosses a connection the server is closing
 * @param {number} [options.warmupMs] load before `trigger` is called, at least
 * @param {number} [options.warmupAnswered] the warm-up also lasts until this many requests were answered and every
 *   connection the clients opened (and still hold) has carried an answered request: a handshake on the load itself,
 *   so that the trigger comes under a real load however slow the machine is, and no connection of the warm-up can
 *   still wait in the server's listen backlog (which the kernel resets when the server stops accepting: a loss no
 *   server can prevent, see docs/rolling.md). 0 (the default): the trigger comes at `warmupMs`, whatever the load
 * @param {number} [options.warmupLimitMs] a warm-up that has not reached `warmupAnswered` by then fails: the run
 *   stops without calling `trigger`, and runLoad rejects saying how far it got
 * @param {() => void} [options.trigger] called once, after the warm-up (sends the SIGTERM)
 * @param {Promise<unknown>} [options.until] loops also stop when this settles (the server process exited)
 * @param {number} [options.afterTriggerMs] loops stop this long after the trigger (a load balancer moving them)
 * @param {number} [options.limitMs] hard bound on the run from the trigger on
 * @param {number} [options.hangMs] a request without an answer after this long is lost
 */
export async function runLoad(options) {
	const {
		port,
		protocol = 'http',
		ca,
		loops = 12,
		sockets = 8,
		minMs = 20,
		maxMs = 200,
		thinkMs = 10,
		busyMs = 0,
		streamShare = 0,
		warmupMs = 400,
		warmupAnswered = 0,
		warmupLimitMs = 20_000,
		trigger = () => {},
		until,
		afterTriggerMs,
		limitMs = 15_000,
		hangMs = 10_000,
	} = options;
	const requests = [];
	const startedAt = performance.now();
	let triggerAt;
	let stopped = false;
	let stopTimer;
	until?.then(
		() => (stopped = true),
		() => (stopped = true),
	);
	let limit;
	let warmupFailed;
	let answered = 0;
	const connections = new Connections();
	const pool = protocol === 'h2' ? new SessionPool(port, ca, sockets, connections) : undefined;
	const agentOptions = { keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'fifo' };
	const agent = protocol === 'https' ? new https.Agent({ ...agentOptions, ca }) : protocol === 'http' ? new http.Agent(agentOptions) : undefined;
	const used = new WeakSet();
	let next = 0;

	const one = (loop) => {
		const id = `${loop}.${next++}`;
		const ms = Math.round(minMs + Math.random() * (maxMs - minMs));
		const path = `/${Math.random() < streamShare ? 'stream' : 'slow'}?ms=${ms}&id=${id}`;
		const record = { id, ms, start: performance.now() - startedAt, end: 0, afterTrigger: triggerAt !== undefined, reused: false, sent: false, outcome: '', error: undefined, close: false };
		requests.push(record);
		return new Promise((resolve) => {
			let connection;
			const done = (outcome, error) => {
				if (record.outcome) return;
				record.outcome = outcome;
				record.error = error?.code ?? error?.message;
				record.end = performance.now() - startedAt;
				if (outcome === 'answered') {
					answered += 1;
					if (connection !== undefined) connections.served(connection);
					warmedUp();
				}
				resolve(record);
			};
			if (pool) return pool.request(path, record, done, hangMs, (session) => (connection = session));
			const client = protocol === 'https' ? https : http;
			const req = client.request({ host: '127.0.0.1', port, path, agent, timeout: hangMs });
			req.on('socket', (socket) => {
				record.reused = used.has(socket);
				used.add(socket);
				connection = socket;
				connections.opened(socket);
			});
			req.on('finish', () => (record.sent = true));
			req.on('timeout', () => req.destroy(Object.assign(new Error('no answer'), { code: 'HANG' })));
			req.on('response', (res) => {
				record.close = res.headers.connection === 'close';
				res.on('data', () => {});
				res.on('end', () => done(res.complete ? 'answered' : 'lost', res.complete ? undefined : new Error('cut')));
				res.on('aborted', () => done('lost', new Error('aborted')));
				res.on('error', (error) => done('lost', error));
			});
			req.on('error', (error) => done(record.sent ? 'lost' : 'refused', error));
			req.end();
		});
	};

	const run = async (loop) => {
		while (!stopped) {
			if (thinkMs > 0) await sleep(Math.random() * thinkMs);
			if (stopped) break;
			const record = await one(loop);
			if (busyMs > 0) {
				const until = performance.now() + busyMs;
				while (performance.now() < until);
			}
			// After the trigger a refusal means the server has stopped accepting: a real client goes elsewhere.
			if (record.outcome === 'refused' && triggerAt !== undefined) break;
		}
	};
	let moveTimer;
	let warmupTime = false;
	/** Calls the trigger once the warm-up is over: its time has passed, and the handshake (warmupAnswered) holds. */
	function warmedUp() {
		if (triggerAt !== undefined || warmupFailed || !warmupTime || stopped) return;
		if (answered < warmupAnswered || (warmupAnswered > 0 && !connections.allServed())) return;
		clearTimeout(stopTimer);
		triggerAt = performance.now() - startedAt;
		limit = setTimeout(() => (stopped = true), limitMs);
		trigger();
		if (afterTriggerMs !== undefined) moveTimer = setTimeout(() => (stopped = true), afterTriggerMs);
	}
	const running = Array.from({ length: loops }, (_, loop) => run(loop));
	stopTimer = setTimeout(() => {
		warmupTime = true;
		warmedUp();
		if (triggerAt !== undefined) return;
		stopTimer = setTimeout(() => {
			warmupFailed = new Error(
				`the warm-up did not reach ${warmupAnswered} answered requests on every open connection within ${warmupLimitMs} ms: ` +
					`${answered} answered, ${connections.describe()}`,
			);
			stopped = true;
		}, warmupLimitMs - warmupMs);
	}, warmupMs);
	await Promise.all(running);
	clearTimeout(limit);
	clearTimeout(stopTimer);
	clearTimeout(moveTimer);
	agent?.destroy();
	pool?.close();
	if (warmupFailed) throw warmupFailed;
	// `origin` is the performance.now() that the records' times count from.
	return { requests, triggerAt, origin: startedAt };
}

/** Counts per outcome; `seen` is the set of request ids the server read, when known. */
export function summarize(requests, seen) {
	const lost = requests.filter((r) => r.outcome === 'lost');
	const answered = requests.filter((r) => r.outcome === 'answered');
	return {
		total: requests.length,
		answered: answered.length,
		refused: requests.filter((r) => r.outcome === 'refused').length,
		lost: lost.length,
		lostSeen: seen ? lost.filter((r) => seen.has(r.id)).length : undefined,
		lostReused: lost.filter((r) => r.reused).length,
		/** Requests the server read that did not get their answer: what "accepted and failed" means. */
		acceptedNotAnswered: seen ? requests.filter((r) => seen.has(r.id) && r.outcome !== 'answered').length : undefined,
		lastAnswered: answered.reduce((max, r) => Math.max(max, r.end), 0),
	};
}

/**
 * The connections the clients opened (sockets, or HTTP/2 sessions), and which of them have carried an answered
 * request: one that has was accepted by the server, so it is not waiting in the listen backlog. One that closed
 * without an answer does not count any more.
 */
class Connections {
	#waiting = new Set();
	#seen = new WeakSet();
	#served = 0;

	opened(connection) {
		if (this.#seen.has(connection)) return;
		this.#seen.add(connection);
		this.#waiting.add(connection);
		connection.once('close', () => this.#waiting.delete(connection));
	}

	served(connection) {
		if (this.#waiting.delete(connection)) this.#served += 1;
	}

	allServed() {
		return this.#waiting.size === 0 && this.#served > 0;
	}

	describe() {
		return `${this.#served} connections served, ${this.#waiting.size} open without an answer yet`;
	}
}

/** A few HTTP/2 sessions used round-robin; a session that is going away is replaced by a new connection. */
class SessionPool {
	#sessions = [];
	#next = 0;

	constructor(port, ca, size, connections) {
		this.port = port;
		this.ca = ca;
		this.size = size;
		this.connections = connections;
	}

	#session() {
		const index = this.#next++ % this.size;
		let session = this.#sessions[index];
		if (!session || session.closed || session.destroyed || session.goneAway) {
			session = http2.connect(`https://127.0.0.1:${this.port}`, { ca: this.ca });
			session.on('goaway', () => (session.goneAway = true));
			session.on('close', () => (session.goneAway = true));
			session.on('error', () => {});
			this.connections.opened(session);
			this.#sessions[index] = session;
		}
		return session;
	}

	request(path, record, done, hangMs, onSession) {
		const session = this.#session();
		onSession(session);
		let stream;
		try {
			stream = session.request({ ':path': path });
		} catch (error) {
			// The session was already closing: nothing was sent.
			return done('refused', error);
		}
		record.reused = session.used === true;
		session.used = true;
		stream.setTimeout(hangMs, () => stream.close(http2.constants.NGHTTP2_CANCEL));
		stream.on('ready', () => (record.sent = true));
		stream.on('response', (headers) => {
			record.status = headers[':status'];
		});
		stream.on('data', () => {});
		stream.on('end', () => {
			record.close = session.goneAway === true;
			done(record.status ? 'answered' : 'lost');
		});
		stream.on('error', (error) => {
			// REFUSED_STREAM, and streams above a GOAWAY's last stream id, were not processed: safe to retry.
			const refused =
				!record.sent ||
				stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ||
				error.code === 'ERR_HTTP2_GOAWAY_SESSION' ||
				error.code === 'ECONNREFUSED';
			done(refused ? 'refused' : 'lost', error);
		});
		stream.on('close', () => {
			if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) done('refused', new Error('REFUSED_STREAM'));
			else done(record.status ? 'answered' : record.sent ? 'lost' : 'refused', new Error(`closed (rst ${stream.rstCode})`));
		});
		stream.end();
	}

	close() {
		for (const session of this.#sessions) session?.destroy();
	}
}
