// drainSignal(req): the way a long-lived response (Server-Sent Events, a WebSocket, a long poll) learns that the
// drain has reached its connection, so that it can end on its own terms. Public, from `graceful-proc/http`.
import type { EventEmitter } from 'node:events';
import { proc as defaultProc } from '../index.js';
import { expected } from '../validate.js';
import { nodeHttp, nodeHttp2 } from './node-http.js';
import { type DrainableRequest, requestEnd } from './request-end.js';
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
			expected(argument, "a server request (the `req` of a request handler, of an 'upgrade' listener or of ws's 'connection'; Koa's `ctx.req`)", value),
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
 * Nothing is kept for requests that never ask, and nothing outlives the request that asked.
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
	const drained = signalFromDrains(req);
	if (drained !== undefined) return drained;
	const end = requestEnd(req);
	// Over: nothing left to end, and nothing to hold for it.
	if (end === null) return new AbortController().signal;
	return followShutdown(req, end);
}

/** Signals that follow the shutdown, by request, so that asking twice gives the same one. */
const following = new WeakMap<DrainableRequest, AbortSignal>();

/** A signal of its own per request, so that listeners added to it go with the request, not onto `proc.signal`. */
function followShutdown(request: DrainableRequest, end: EventEmitter): AbortSignal {
	const known = following.get(request);
	if (known !== undefined) return known;
	const shutdown = defaultProc.signal;
	const controller = new AbortController();
	following.set(request, controller.signal);
	if (shutdown.aborted) {
		// A moment later, as for a drain that has passed the connection (see Spread#signal).
		queueMicrotask(() => controller.abort(shutdown.reason));
		return controller.signal;
	}
	const onShutdown = () => controller.abort(shutdown.reason);
	shutdown.addEventListener('abort', onShutdown, { once: true });
	end.once('close', () => shutdown.removeEventListener('abort', onShutdown));
	return controller.signal;
}
