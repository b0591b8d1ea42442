// What a probe is answered: status code, JSON body and headers for a method, path and query, read from the
// ticker's cache. The node handler (handler.ts) and the fetch handler (fetch-handler.ts) both write these answers.
import type { HealthStatus } from './types.js';

export type Endpoint = 'livez' | 'readyz' | 'healthz';

export interface Verdict {
	readonly ok: boolean;
	/** Why not, in a few words (check names, never their errors). */
	readonly reason?: string;
}

/** What the answers are read from; `version` changes whenever anything they would say changes. */
export interface HealthView {
	readonly version: number;
	verdict(endpoint: Endpoint): Verdict;
	status(): HealthStatus;
}

export interface ProbeAnswer {
	readonly code: 200 | 404 | 405 | 503;
	readonly body: string;
	/** Built once per answer: a probe then costs what a static response costs. */
	readonly headers: Readonly<Record<string, string>>;
}

const ENDPOINTS: Record<string, Endpoint> = {
	'/livez': 'livez',
	'/livez/': 'livez',
	'/readyz': 'readyz',
	'/readyz/': 'readyz',
	'/healthz': 'healthz',
	'/healthz/': 'healthz',
};

/** `/livez` → `livez`, `/livez/` too; anything else is not a probe. */
export function endpointOf(path: string): Endpoint | undefined {
	return ENDPOINTS[path];
}

/**
 * Only `?verbose`, `?verbose=1` and `?verbose=true` turn it on: anything else (`no`, `FALSE`, `0`, `off`) is
 * the short answer, which says less, the safe side for a value nobody meant as "yes".
 */
function isVerbose(query: string): boolean {
	const value = new URLSearchParams(query).get('verbose');
	return value === '' || value === '1' || value === 'true';
}

function answer(code: ProbeAnswer['code'], json: object, extra?: Record<string, string>): ProbeAnswer {
	const body = JSON.stringify(json);
	return {
		code,
		body,
		headers: {
			'Content-Type': 'application/json; charset=utf-8',
			'Cache-Control': 'no-store',
			'Content-Length': String(Buffer.byteLength(body)),
			...extra,
		},
	};
}

export const NOT_FOUND: ProbeAnswer = answer(404, { status: 'fail', reason: 'not found: use /livez, /readyz or /healthz' });
const NOT_ALLOWED: ProbeAnswer = answer(405, { status: 'fail', reason: 'method not allowed: use GET or HEAD' }, { Allow: 'GET, HEAD' });

function render(view: HealthView, endpoint: Endpoint, verbose: boolean): ProbeAnswer {
	const verdict = view.verdict(endpoint);
	const json: Record<string, unknown> = { status: verdict.ok ? 'ok' : 'fail' };
	if (verdict.reason !== undefined) json.reason = verdict.reason;
	if (verbose) Object.assign(json, view.status());
	return answer(verdict.ok ? 200 : 503, json);
}

/**
 * Answers from the ticker's cache, never by running a check: probes stay cheap however often they come.
 * `query` is what follows the `?`, or undefined when there is none.
 */
export function createProbeAnswerer(view: HealthView): (method: string | undefined, endpoint: Endpoint, query: string | undefined) => ProbeAnswer {
	let cacheVersion = -1;
	const cache = new Map<string, ProbeAnswer>();
	return (method, endpoint, query) => {
		if (method !== 'GET' && method !== 'HEAD') return NOT_ALLOWED;
		const verbose = query !== undefined && isVerbose(query);
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
		return rendered;
	};
}
