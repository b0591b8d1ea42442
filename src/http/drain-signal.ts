// drainSignal(req): the way a long-lived response (Server-Sent Events, a WebSocket, a long poll) learns that the
// drain has reached its connection, so that it can end on its own terms. Public, from `graceful-proc/http`.
import type { EventEmitter } from 'node:events';
import { proc as defaultProc } from '../index.js';
import { expected } from '../validate.js';
import { webRequestHint } from './fetch-style.js';
import { nodeHttp, nodeHttp2 } from './node-http.js';
import { type DrainableRequest, requestEnd } from './request-end.js';
import { GIVEN_SIGNAL, reusableController } from './reusable-controller.js';
import { signalFromDrains } from './spread-registry.js';

export type { DrainableRequest } from './request-end.js';

function assertServerRequest(argument: string, value: unknown): asserts value is DrainableRequest {
	// A client's response is an IncomingMessage too; only a server's request has a method.
	// node:http2 is needed only for a value that is no IncomingMessage, as an HTTP/2 request is (see nodeHttp2).
	const ok =
		value instanceof nodeHttp().IncomingMessage
			? typeof value.method === 'string'
			: value !== null && typeof value === 'object' && value instanceof nodeHttp2().Http2ServerRequest;
	if (!ok) {
		throw new TypeError(
			expected(argument, "a server request (the `req` of a request handler, of an 'upgrade' listener or of ws's 'connection'; Koa's `ctx.req`)", value) +
				webRequestHint(value),
		);
	}
}

/**
 * An AbortSignal that aborts when the drain of the request's server reaches the request's connection, so that a
 * long-lived response ends its own way: the last event and `res.end()` for Server-Sent Events, `ws.close(1001)`
 * for a WebSocket. After the drain's `delay`, the connections that asked are reached one by one, evenly over its
 * `spread`, and the drain ends once they have closed.
 *
 * - Asked before the shutdown, it aborts when the drain reaches the connection later; asked once the drain has
 *   passed it (or on a connection the spread did not start with), it aborts in a microtask, so that a listener
 *   added right after the call still runs (check `signal.aborted` after an `await`).
 * - On a server that drain() does not drain (or a connection it has not seen), it aborts when the shutdown of the
 *   process-wide proc starts (`proc.signal`): at least the stream still ends on its own terms.
 * - A request that is already over (its response finished; its upgraded socket closed) gets a signal that never
 *   aborts: there is nothing left to end.
 *
 * Nothing is kept for requests that never ask. Requests of one connection that ask may share a signal (making an
 * AbortSignal costs node about as much as a small request): what a connection holds stays the same however many
 * requests it carries.
 *
 * @example
 * app.get('/events', (req, res) => {
 *   res.writeHead(200, { 'content-type': 'text/event-stream' })
 *   drainSignal(req).addEventListener('abort', () => res.end('event: bye\ndata: reconnect\n\n'))
 * })
 * wss.on('connection', (ws, req) => drainSignal(req).addEventListener('abort', () => ws.close(1001, 'going away')))
 */
export function drainSignal(req: DrainableRequest): AbortSignal {
	assertServerRequest('req', req);
	const given = (req as Asked)[GIVEN_SIGNAL];
	if (given !== undefined) return given;
	const signal = signalFromDrains(req) ?? undrainedSignal(req);
	(req as Asked)[GIVEN_SIGNAL] = signal;
	return signal;
}

type Asked = DrainableRequest & { [GIVEN_SIGNAL]?: AbortSignal };

function undrainedSignal(req: DrainableRequest): AbortSignal {
	// Over: nothing left to end, and nothing to hold for it.
	if (requestEnd(req) === null) return new AbortController().signal;
	return followShutdown(req);
}

/**
 * Connections of servers that drain() does not drain, whose requests asked: socket (HTTP/1, upgrades included) or
 * HTTP/2 stream → the controller they share. Each is dropped when its connection closes (one 'close' listener per
 * connection, none per request); a connection holds one controller, made again when a request asks and an
 * earlier one left listeners on it (see reusableController), so what a keep-alive connection holds does not grow
 * with the requests it carries. Node gives a plain handler no way from a request to its response, so the
 * connection is what ends. One listener on `proc.signal` serves them all.
 */
const following = new Map<object, AbortController>();
let listeningTo: AbortSignal | undefined;

/** Connections held for signals that follow the shutdown (for white-box tests). */
export function followingCount(): number {
	return following.size;
}

function onShutdown(this: AbortSignal): void {
	const { reason } = this;
	const controllers = [...following.values()];
	following.clear();
	for (const controller of controllers) controller.abort(reason);
}

/** A signal shared by the request's connection, so that listeners added to it go with the connection, not onto `proc.signal`. */
function followShutdown(request: DrainableRequest): AbortSignal {
	const shutdown = defaultProc.signal;
	if (shutdown.aborted) {
		// A moment later, as for a drain that has passed the connection (see Spread#signal).
		const controller = new AbortController();
		queueMicrotask(() => controller.abort(shutdown.reason));
		return controller.signal;
	}
	if (listeningTo !== shutdown) {
		listeningTo?.removeEventListener('abort', onShutdown);
		listeningTo = shutdown;
		shutdown.addEventListener('abort', onShutdown, { once: true });
	}
	const connection: EventEmitter = 'stream' in request ? request.stream : request.socket;
	const previous = following.get(connection);
	const controller = reusableController(previous);
	if (controller !== previous) {
		if (previous === undefined) connection.once('close', () => following.delete(connection));
		following.set(connection, controller);
	}
	return controller.signal;
}
