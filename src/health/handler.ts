// The node probe handler, `health.handler`: `/livez`, `/readyz` and `/healthz` for http.createServer, Express
// and Koa, from the answers of probe-answer.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createProbeAnswerer, endpointOf, type HealthView, NOT_FOUND, type ProbeAnswer } from './probe-answer.js';
import type { HealthHandler } from './types.js';

export type { Endpoint, HealthView, Verdict } from './probe-answer.js';

function send(req: IncomingMessage, res: ServerResponse, answer: ProbeAnswer): void {
	// One writeHead: merged with headers the framework set before (Express's X-Powered-By), and cheaper.
	res.writeHead(answer.code, answer.headers);
	res.end(req.method === 'HEAD' ? undefined : answer.body);
}

/**
 * Paths are taken from `req.url` as the framework left it, so under `app.use('/health', handler)` Express
 * has already stripped the mount path.
 */
export function createHealthHandler(view: HealthView): HealthHandler {
	const answerProbe = createProbeAnswerer(view);
	return function healthHandler(req, res, next) {
		const url = req.url ?? '/';
		const q = url.indexOf('?');
		let path = q === -1 ? url : url.slice(0, q);
		if (path.charCodeAt(0) !== 47 /* / */) {
			// Absolute-form request target, as sent to a proxy.
			try {
				path = new URL(path).pathname;
			} catch {}
		}
		const endpoint = endpointOf(path);
		if (endpoint === undefined) {
			// Mounted as middleware: other paths belong to the app.
			if (typeof next === 'function') return next();
			return send(req, res, NOT_FOUND);
		}
		send(req, res, answerProbe(req.method, endpoint, q === -1 ? undefined : url.slice(q + 1)));
	};
}
