// What tells that a request is over: its response, the socket an upgrade took, or its HTTP/2 stream. Used by
// drainSignal() to let go of a request, and by the drain to follow it.
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { nodeHttp } from './node-http.js';

/** A request a drained server hands to its handlers: node's http/https one (Express's, Koa's `ctx.req`), or HTTP/2's. */
export type DrainableRequest = IncomingMessage | Http2ServerRequest;

/** node sets `upgrade` on a request that an 'upgrade' listener takes over (its types do not declare it). */
const isUpgrade = (request: IncomingMessage) => (request as { upgrade?: boolean }).upgrade === true;

/**
 * What emits `'close'` once `request` is over, or null when it already is: its response (which closes when it has
 * finished or was cut), the socket an upgrade took over, the HTTP/2 stream. Not the request itself: node closes
 * a request as soon as its body has been read, long before a long poll's response. `response` is the one the
 * caller knows for it; otherwise Express's `req.res`; when neither is known, the connection.
 */
export function requestEnd(request: DrainableRequest, response?: ServerResponse): EventEmitter | null {
	const http = nodeHttp();
	// A request that is no IncomingMessage is HTTP/2's: telling so needs no node:http2 (see nodeHttp2).
	if (!(request instanceof http.IncomingMessage)) {
		const { stream } = request;
		return stream.closed || stream.destroyed ? null : stream;
	}
	const { socket } = request;
	if (socket === null || socket.destroyed) return null;
	if (isUpgrade(request)) return socket;
	// The response the caller knows, else Express's `req.res`: no array made to loop over, for every request asking.
	const known = responseOf(request, response, http.ServerResponse) ?? responseOf(request, (request as { res?: unknown }).res, http.ServerResponse);
	if (known !== undefined) return known.writableEnded || known.destroyed ? null : known;
	return socket;
}

function responseOf(request: IncomingMessage, candidate: unknown, type: typeof ServerResponse): ServerResponse | undefined {
	return candidate instanceof type && candidate.req === request ? candidate : undefined;
}
