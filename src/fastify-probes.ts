// The health ticker's probes as Fastify routes: `GET /livez`, `/readyz` and `/healthz` (HEAD too, as Fastify
// exposes them), answered by the ticker's node handler on the raw request. For the Fastify plugin and for Nest on
// its Fastify platform.
import type { HealthHandler } from './health/types.js';

export const PROBE_PATHS = ['/livez', '/readyz', '/healthz'] as const;

/** What mounting uses of a Fastify instance; a real `FastifyInstance` fits. */
export interface FastifyRoutes {
	get(path: string, handler: (request: any, reply: any) => unknown): unknown;
}

export function mountFastifyProbes(fastify: FastifyRoutes, health: { readonly handler: HealthHandler }): void {
	const probe = (request: { raw: unknown }, reply: { hijack(): void; raw: unknown }) => {
		// The ticker writes the raw response itself: Fastify must not send one too.
		reply.hijack();
		health.handler(request.raw as never, reply.raw as never);
	};
	for (const path of PROBE_PATHS) fastify.get(path, probe);
}
