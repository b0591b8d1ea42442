// Fetch-style apps (web Request in, Response out: Hono's app.fetch, `{ fetch }` objects), which node's (req, res)
// never answers: refused at serve() time when they can be told apart, and answered with a 500 and a coded warning
// when a request listener returns a Response anyway (given to serve(), or to a server made by hand and drained), so
// that no request is left hanging until the deadline.
import type http from 'node:http';
import type net from 'node:net';
import { expected } from '../validate.js';

/** The code of the serve() refusal and of the warning: one name to search for. */
export const FETCH_HANDLER_CODE = 'GRACEFUL_PROC_FETCH_HANDLER';

const RECIPE =
	'serve it with @hono/node-server (`serve({ fetch: app.fetch, port })` returns a node server to give to drain()); see "Fetch-style apps (Hono)" in https://github.com/graceful-proc/graceful-proc/blob/main/docs/http.md';

const WHAT = 'an Express app, a Koa app or a `(req, res)` handler';

function refusal(message: string): TypeError {
	return Object.assign(new TypeError(message), { code: FETCH_HANDLER_CODE });
}

/**
 * Throws a TypeError (code GRACEFUL_PROC_FETCH_HANDLER) for what serve() can tell is fetch-style: an object with
 * `fetch()` and no node `callback()` (a Hono app, a Bun-style `{ fetch, port }`), or a function of exactly one
 * parameter (a `(request) => Response` handler, Hono's `app.fetch`; a node handler needs `res` to answer at all).
 */
export function refuseFetchStyle(app: unknown): void {
	if (app === null || (typeof app !== 'object' && typeof app !== 'function')) return;
	const { fetch, callback } = app as { fetch?: unknown; callback?: unknown };
	if (typeof fetch === 'function' && typeof callback !== 'function') {
		throw refusal(`${expected('app', WHAT, app)}: a fetch-style app (it has \`fetch()\`, which takes a web Request); ${RECIPE}`);
	}
	if (typeof app === 'function' && app.length === 1) {
		throw refusal(
			`${expected('app', WHAT, app)}: a function of one parameter, as a fetch-style handler \`(request) => Response\` is, never answers a node request; ${RECIPE}`,
		);
	}
}

/** For drain-signal's message: what to pass instead of a web Request (Hono's `c.req.raw`), or '' for anything else. */
export function webRequestHint(value: unknown): string {
	// By shape too: @hono/node-server puts a lighter Request of its own in the global's place.
	const request = value as { url?: unknown; method?: unknown; headers?: { get?: unknown } } | null;
	const isWebRequest =
		(typeof Request === 'function' && value instanceof Request) ||
		(request !== null && typeof request === 'object' && typeof request.url === 'string' && typeof request.method === 'string' && typeof request.headers?.get === 'function');
	if (isWebRequest) {
		return ": a web Request, as Hono's `c.req.raw` is; under @hono/node-server the node request is `c.env.incoming`";
	}
	return '';
}

function isResponse(value: unknown): boolean {
	if (value === null || typeof value !== 'object') return false;
	if (typeof Response === 'function' && value instanceof Response) return true;
	// Another realm's or runtime's Response, or @hono/node-server's lightweight one.
	const candidate = value as { status?: unknown; headers?: { get?: unknown }; arrayBuffer?: unknown };
	return typeof candidate.status === 'number' && typeof candidate.headers?.get === 'function' && typeof candidate.arrayBuffer === 'function';
}

/**
 * `listener`, watched for a web Response as its result (at once or from a promise): node would ignore it and
 * leave the request hanging until the deadline, so it gets a 500 instead, and the process one warning (`where`
 * says which handler). A response the listener has begun to write is its own: it is left alone.
 */
function watchReturnedResponse(listener: (...args: any[]) => unknown, where: string): (this: unknown, req: http.IncomingMessage, res: http.ServerResponse) => void {
	let warned = false;
	const refuse = (res: http.ServerResponse) => {
		if (!warned) {
			warned = true;
			process.emitWarning(
				`graceful-proc: ${where} returned a web Response, which node does not send: it is a fetch-style handler; each such request is answered 500; ${RECIPE}`,
				{ code: FETCH_HANDLER_CODE },
			);
		}
		if (res.headersSent || res.writableEnded) return;
		res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '22' });
		res.end('Internal Server Error\n');
	};
	return function watchedListener(this: unknown, req, res) {
		// Every argument passed on (an Express app takes a third).
		const result: unknown = Reflect.apply(listener, this, arguments);
		if (result === undefined || result === null || typeof result !== 'object') return;
		if (typeof (result as PromiseLike<unknown>).then === 'function') {
			// A rejection stays the application's: it surfaces as the same unhandled rejection as without this.
			void Promise.resolve(result).then((value) => {
				if (isResponse(value)) refuse(res);
			});
		} else if (isResponse(result)) {
			refuse(res);
		}
	};
}

/** serve()'s listener, watched for a returned Response (see watchReturnedResponse). */
export function answerReturnedResponses(listener: http.RequestListener): http.RequestListener {
	return watchReturnedResponse(listener, 'the handler given to serve()');
}

/**
 * drain() of a server made by hand with a fetch-style handler, `http.createServer(app.fetch)`: node ignores the
 * Response it returns, and every request would hang until the deadline. A server whose only request listener
 * takes at most one parameter (a node handler needs `res` to answer at all) gets it watched in place. The
 * watcher carries the original as `listener`, as node's once() wrappers do, so that `server.listeners()` still
 * shows the original and `removeListener(original)` still removes it. Listeners of two parameters and more, and
 * servers with several, are left as they are: nothing is added to a request of a node app. Returns what undoes it.
 */
export function watchHandMadeFetchServer(server: net.Server): () => void {
	const listeners = server.rawListeners('request');
	if (listeners.length !== 1) return () => {};
	const listener = listeners[0] as ((...args: any[]) => unknown) & { listener?: unknown };
	if (typeof listener !== 'function' || listener.length > 1 || listener.listener !== undefined) return () => {};
	const watched = Object.assign(watchReturnedResponse(listener, 'the request listener of a server given to drain()'), { listener });
	server.removeListener('request', listener);
	server.on('request', watched);
	// Undone only while it is still the one listener: after that, the order of the others is not ours to change.
	return () => {
		const now = server.rawListeners('request');
		if (now.length !== 1 || now[0] !== watched) return;
		server.removeListener('request', watched);
		server.on('request', listener);
	};
}
