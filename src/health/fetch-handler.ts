// The probe handler for fetch-style servers, `health.fetch(request)`: a web Request in, a Response out, for Hono,
// Bun.serve, Deno.serve and route handlers. Same answers as the node handler (probe-answer.ts).
import { expected } from '../validate.js';
import { createProbeAnswerer, endpointOf, type HealthView, NOT_FOUND, type ProbeAnswer } from './probe-answer.js';

/** A web `Request` in, a `Response` out: `/livez`, `/readyz`, `/healthz`, decided by the path's last segment. */
export type HealthFetch = (request: Request) => Response;

function respond(method: string, answer: ProbeAnswer): Response {
	return new Response(method === 'HEAD' ? null : answer.body, { status: answer.code, headers: answer.headers });
}

/**
 * The probe is named by the last segment of the path, so the handler answers wherever it is routed:
 * `app.get('/readyz', ...)` and `app.get('/health/*', ...)` alike (a router passes the whole URL on).
 */
export function createHealthFetch(view: HealthView): HealthFetch {
	const answerProbe = createProbeAnswerer(view);
	return function healthFetch(request) {
		if (request === null || typeof request !== 'object' || typeof request.url !== 'string' || typeof request.method !== 'string') {
			throw new TypeError(expected('request', 'a web Request (what Hono’s `c.req.raw`, Bun.serve and Deno.serve give)', request));
		}
		let url: URL;
		try {
			url = new URL(request.url);
		} catch {
			return respond(request.method, NOT_FOUND);
		}
		let path = url.pathname;
		if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
		const endpoint = endpointOf(path.slice(path.lastIndexOf('/')));
		if (endpoint === undefined) return respond(request.method, NOT_FOUND);
		return respond(request.method, answerProbe(request.method, endpoint, url.search === '' ? undefined : url.search.slice(1)));
	};
}
