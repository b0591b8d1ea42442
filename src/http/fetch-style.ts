// Fetch-style apps (web Request in, Response out: Hono's app.fetch, `{ fetch }` objects) given to serve(), which
// speaks node's (req, res): refused at serve() time when they can be told apart, answered with a 500 and a coded
// warning when a (req, res) handler returns a Response anyway, so that no request is left hanging.
import type http from 'node:http';
import { expected } from '../validate.js';

const RECIPE =
	'serve it with @hono/node-server (`serve({ fetch: app.fetch, port })` returns a node server to give to drain()); see "Fetch-style apps (Hono)" in https://github.com/graceful-proc/graceful-proc/blob/main/docs/http.md';

const WHAT = 'an Express app, a Koa app or a `(req, res)` handler';

/**
 * Throws a TypeError for what serve() can tell is fetch-style: an object with `fetch()` and no node
 * `callback()` (a Hono app), or a function of exactly one parameter (a `(request) => Response` handler, Hono's
 * `app.fetch`; a node handler needs `res` to answer at all).
 */
export function refuseFetchStyle(app: unknown): void {
	if (app === null || (typeof app !== 'object' && typeof app !== 'function')) return;
	const { fetch, callback } = app as { fetch?: unknown; callback?: unknown };
	if (typeof fetch === 'function' && typeof callback !== 'function') {
		throw new TypeError(`${expected('app', WHAT, app)}: a fetch-style app (it has \`fetch()\`, which takes a web Request); ${RECIPE}`);
	}
	if (typeof app === 'function' && app.length === 1) {
		throw new TypeError(
			`${expected('app', WHAT, app)}: a function of one parameter, as a fetch-style handler \`(request) => Response\` is, never answers a node request; ${RECIPE}`,
		);
	}
}

function isResponse(value: unknown): boolean {
	if (value === null || typeof value !== 'object') return false;
	if (typeof Response === 'function' && value instanceof Response) return true;
	// Another realm's or runtime's Response.
	const candidate = value as { status?: unknown; headers?: { get?: unknown }; arrayBuffer?: unknown };
	return typeof candidate.status === 'number' && typeof candidate.headers?.get === 'function' && typeof candidate.arrayBuffer === 'function';
}

/**
 * `listener`, watched for a web Response as its result (at once or from a promise): node would ignore it and
 * leave the request hanging until the deadline, so it gets a 500 instead, and the process one warning.
 */
export function answerReturnedResponses(listener: http.RequestListener): http.RequestListener {
	let warned = false;
	const refuse = (res: http.ServerResponse) => {
		if (!warned) {
			warned = true;
			process.emitWarning(
				`graceful-proc: the handler given to serve() returned a web Response, which node does not send: it is a fetch-style handler; each such request is answered 500; ${RECIPE}`,
				{ code: 'GRACEFUL_PROC_FETCH_HANDLER' },
			);
		}
		if (res.writableEnded) return;
		if (res.headersSent) {
			res.end();
			return;
		}
		res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '22' });
		res.end('Internal Server Error\n');
	};
	return function servedListener(this: unknown, req, res) {
		const result: unknown = (listener as (this: unknown, ...args: unknown[]) => unknown).call(this, req, res);
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
