import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthHandler, HealthStatus } from './types.js';

export type Endpoint = 'livez' | 'readyz' | 'healthz';

export interface Verdict {
	readonly ok: boolean;
	/** Why not, in a few words (check names, never their errors). */
	readonly reason?: string;
}

/** What the handler reads from the ticker; `version` changes whenever anything it would answer changes. */
export interface HealthView {
	readonly version: number;
	verdict(endpoint: Endpoint): Verdict;
	status(): HealthStatus;
}

interface Rendered {
	readonly code: 200 | 503;
	readonly body: string;
	/** Built once per answer: a probe then costs what a static response costs. */
	readonly headers: Record<string, string>;
}

const ENDPOINTS: Record<string, Endpoint> = {
	'/livez': 'livez',
	'/livez/': 'livez',
	'/readyz': 'readyz',
	'/readyz/': 'readyz',
	'/healthz': 'healthz',
	'/healthz/': 'healthz',
};

/**
 * Only `?verbose`, `?verbose=1` and `?verbose=true` turn it on: anything else (`no`, `FALSE`, `0`, `off`) is
 * the short answer, which says less, the safe side for a value nobody meant as "yes".
 */
function isVerbose(query: string): boolean {
	const value = new URLSearchParams(query).get('verbose');
	return value === '' || value === '1' || value === 'true';
}

function headersFor(length: string, extra?: Record<string, string>): Record<string, string> {
	return {
		'Content-Type': 'application/json; charset=utf-8',
		'Cache-Control': 'no-store',
		'Content-Length': length,
		...extra,
	};
}

function send(req: IncomingMessage, res: ServerResponse, code: number, body: string, headers: Record<string, string>): void {
	// One writeHead: merged with headers the framework set before (Express's X-Powered-By), and cheaper.
	res.writeHead(code, headers);
	res.end(req.method === 'HEAD' ? undefined : body);
}

function reply(req: IncomingMessage, res: ServerResponse, code: number, answer: object, extra?: Record<string, string>): void {
	const body = JSON.stringify(answer);
	send(req, res, code, body, headersFor(String(Buffer.byteLength(body)), extra));
}

function render(view: HealthView, endpoint: Endpoint, verbose: boolean): Rendered {
	const verdict = view.verdict(endpoint);
	const answer: Record<string, unknown> = { status: verdict.ok ? 'ok' : 'fail' };
	if (verdict.reason !== undefined) answer.reason = verdict.reason;
	if (verbose) Object.assign(answer, view.status());
	const body = JSON.stringify(answer);
	return { code: verdict.ok ? 200 : 503, body, headers: headersFor(String(Buffer.byteLength(body))) };
}

/**
 * Answers from the ticker's cache, never by running a check: probes stay cheap however often they come.
 * Paths are taken from `req.url` as the framework left it, so under `app.use('/health', handler)` Express
 * has already stripped the mount path.
 */
export function createHealthHandler(view: HealthView): HealthHandler {
	let cacheVersion = -1;
	const cache = new Map<string, Rendered>();

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
		const endpoint = ENDPOINTS[path];
		if (endpoint === undefined) {
			// Mounted as middleware: other paths belong to the app.
			if (typeof next === 'function') return next();
			return reply(req, res, 404, { status: 'fail', reason: 'not found: use /livez, /readyz or /healthz' });
		}
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			return reply(req, res, 405, { status: 'fail', reason: 'method not allowed: use GET or HEAD' }, { Allow: 'GET, HEAD' });
		}
		const verbose = q !== -1 && isVerbose(url.slice(q + 1));
		if (view.version !== cacheVersion) {
			cache.clear();
			cacheVersion = view.version;
		}
		const key = verbose ? `${endpoint}?verbose` : endpoint;
		let rendered = cache.get(key);
		if (rendered === undefined) {
			rendered = render(view, endpoint, verbose);
			cache.set(key, rendered);
		}
		send(req, res, rendered.code, rendered.body, rendered.headers);
	};
}
