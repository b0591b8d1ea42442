// The `graceful-proc/fastify` entry point: a Fastify plugin (>= 4) that drains every server Fastify made, serves
// the health probes as routes, and calls fastify.close() in the shutdown phase, after the drain. Duck-typed: it
// imports nothing from Fastify.
import { drainFastifyServers, type FastifyServers } from './fastify-servers.js';
import { type FastifyRoutes, mountFastifyProbes } from './fastify-probes.js';
import { proc as defaultProc } from './index.js';
import { procInForce } from './testing-protocol.js';
import { DRAIN_OPTION_KEYS, type DrainOptions, resolveDrainOptions } from './http/options.js';
import type { HealthHandler } from './health/types.js';
import { expected } from './validate.js';

/** What the plugin uses of a Fastify instance; a real `FastifyInstance` fits. */
export interface FastifyLike extends FastifyServers, FastifyRoutes {
	close(): PromiseLike<unknown>;
}

export interface GracefulProcFastifyOptions extends Omit<DrainOptions, 'name'> {
	/**
	 * A health ticker (`createHealthTicker()` from `graceful-proc/health`) whose probes are mounted as the routes
	 * `GET /livez`, `/readyz` and `/healthz` (HEAD too).
	 * @example { health: createHealthTicker({ checks: { db: (signal) => pool.query('select 1', { signal }) } }) }
	 */
	health?: { readonly handler: HealthHandler };
}

// Options Fastify itself puts in a plugin's options (register's own): not the plugin's to check.
const FASTIFY_KEYS = ['prefix', 'logLevel', 'logSerializers'];
const KNOWN = [...DRAIN_OPTION_KEYS.filter((key) => key !== 'name'), 'health', ...FASTIFY_KEYS];

async function gracefulProc(fastify: FastifyLike, options: GracefulProcFastifyOptions = {}): Promise<void> {
	if (fastify === null || typeof fastify !== 'object' || typeof fastify.addHook !== 'function' || typeof fastify.close !== 'function') {
		throw new TypeError(expected('fastify', 'a Fastify instance (use `app.register(gracefulProc, options)`)', fastify));
	}
	resolveDrainOptions(options, { known: KNOWN });
	const { health, prefix: _prefix, logLevel: _logLevel, logSerializers: _logSerializers, ...drainOptions } = options as GracefulProcFastifyOptions & Record<string, unknown>;
	if (health !== undefined && (health === null || typeof health !== 'object' || typeof health.handler !== 'function')) {
		throw new TypeError(expected('options.health', 'a health ticker (from `createHealthTicker()`)', health));
	}
	const proc = procInForce(drainOptions.proc ?? defaultProc);

	drainFastifyServers(fastify, drainOptions);
	if (health !== undefined) mountFastifyProbes(fastify, health);

	// The shutdown phase starts once the drains (wrap-up listeners) have settled: onClose hooks (pools) then run
	// after the last response. Fastify's own server.close() finds the server closed, which it ignores.
	proc.addShutdownListener(() => fastify.close(), { name: 'fastify' });
}

// Registered on the instance it is given, not an encapsulated child (what `fastify-plugin` does), so the routes
// are the app's and the hook sees the app's listen.
Object.assign(gracefulProc, {
	[Symbol.for('skip-override')]: true,
	[Symbol.for('fastify.display-name')]: 'graceful-proc',
	[Symbol.for('plugin-meta')]: { name: 'graceful-proc', fastify: '>=4' },
});

export default gracefulProc;
export { gracefulProc };
