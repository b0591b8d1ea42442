// The health ticker's probes as Fastify routes: `GET /livez`, `/readyz` and `/healthz` (HEAD too, as Fastify
// exposes them), or paths of the app's choosing, answered by the ticker's node handler on the raw request. For the
// Fastify plugin and for Nest on its Fastify platform.
import type { Endpoint } from './health/probe-answer.js';
import type { HealthHandler } from './health/types.js';
import { expected } from './validate.js';

const ENDPOINTS: readonly Endpoint[] = ['livez', 'readyz', 'healthz'];

/** Where each probe is mounted; `false` leaves it out. */
export type ProbePaths = { readonly [endpoint in Endpoint]?: string | false };

/** What mounting uses of a Fastify instance; a real `FastifyInstance` fits. */
export interface FastifyRoutes {
	get(path: string, handler: (request: any, reply: any) => unknown): unknown;
	get(path: string, options: object, handler: (request: any, reply: any) => unknown): unknown;
}

export interface MountOptions {
	/** Each probe's path, when not its default (`/livez`, ...). */
	readonly paths?: ProbePaths;
	/** Put before every path (register()'s `prefix`, which Fastify does not apply to a plugin that is not encapsulated). */
	readonly prefix?: string;
	/** Route options for the probes (register()'s `logLevel` and `logSerializers`). */
	readonly route?: object;
}

/** Checks `paths` (the argument is named `argument`): an object of `livez`, `readyz`, `healthz`, each a path or false. */
export function assertProbePaths(argument: string, paths: unknown): asserts paths is ProbePaths | undefined {
	if (paths === undefined) return;
	if (paths === null || typeof paths !== 'object' || Array.isArray(paths)) {
		throw new TypeError(expected(argument, 'an object of paths for `livez`, `readyz` and `healthz`', paths));
	}
	for (const key of Object.keys(paths)) {
		if (!(ENDPOINTS as readonly string[]).includes(key)) {
			throw new TypeError(`Unknown probe \`${argument}.${key}\`; the probes are ${ENDPOINTS.map((e) => `\`${e}\``).join(', ')}`);
		}
		const path = (paths as Record<string, unknown>)[key];
		if (path === false) continue;
		if (typeof path !== 'string') throw new TypeError(expected(`${argument}.${key}`, "a path starting with '/', or false", path));
		if (!path.startsWith('/') || /[?#\s]/.test(path)) throw new RangeError(expected(`${argument}.${key}`, "a path starting with '/', or false", path));
	}
}

/**
 * Mounts the probes. The handler names a probe by the request's path, which under a prefix or a path of the app's
 * own is not `/readyz`: each route hands it a view of the raw request whose `url` is its probe's (query kept).
 */
export function mountFastifyProbes(fastify: FastifyRoutes, health: { readonly handler: HealthHandler }, options: MountOptions = {}): void {
	const prefix = (options.prefix ?? '').replace(/\/+$/, '');
	for (const endpoint of ENDPOINTS) {
		const path = options.paths?.[endpoint] ?? `/${endpoint}`;
		if (path === false) continue;
		const probe = (request: { raw: { url?: string } }, reply: { hijack(): void; raw: unknown }) => {
			// The ticker writes the raw response itself: Fastify must not send one too.
			reply.hijack();
			const url = request.raw.url ?? '';
			const query = url.indexOf('?');
			const raw = Object.create(request.raw, { url: { value: query === -1 ? `/${endpoint}` : `/${endpoint}${url.slice(query)}` } });
			health.handler(raw, reply.raw as never);
		};
		if (options.route === undefined) fastify.get(`${prefix}${path}`, probe);
		else fastify.get(`${prefix}${path}`, options.route, probe);
	}
}
