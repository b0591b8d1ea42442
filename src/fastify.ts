// The `graceful-proc/fastify` entry point: a Fastify plugin (>= 4) that drains every server Fastify made, serves
// the health probes as routes, and calls fastify.close() in the shutdown phase, after the drain. Duck-typed: it
// imports nothing from Fastify.
import { drainFastifyServers, type FastifyServers } from './fastify-servers.js';
import { assertProbePaths, type FastifyRoutes, type MountOptions, mountFastifyProbes, type ProbePaths } from './fastify-probes.js';
import { proc as defaultProc } from './index.js';
import { procInForce } from './testing-protocol.js';
import { addressLabel, assertServer } from './http/server-kind.js';
import { DRAIN_OPTION_KEYS, type DrainOptions, resolveDrainOptions } from './http/options.js';
import type { HealthHandler } from './health/types.js';
import { describe, expected } from './validate.js';

export type { ProbePaths } from './fastify-probes.js';

/** What the plugin uses of a Fastify instance; a real `FastifyInstance` fits. */
export interface FastifyLike extends FastifyServers, FastifyRoutes {
	addHook(name: 'onListen', hook: (...args: any[]) => unknown): unknown;
	addHook(name: 'onClose', hook: (...args: any[]) => unknown): unknown;
	close(): PromiseLike<unknown>;
}

export interface GracefulProcFastifyOptions extends Omit<DrainOptions, 'name'> {
	/**
	 * A health ticker (`createHealthTicker()` from `graceful-proc/health`) whose probes are mounted as the routes
	 * `GET /livez`, `/readyz` and `/healthz` (HEAD too), under register()'s `prefix` when it has one.
	 * @example { health: createHealthTicker({ checks: { db: (signal) => pool.query('select 1', { signal }) } }) }
	 */
	health?: { readonly handler: HealthHandler };
	/**
	 * Other paths for the probes, each a path starting with `/`, or `false` to leave that probe out.
	 * @default { livez: '/livez', readyz: '/readyz', healthz: '/healthz' }
	 * @example { health, paths: { livez: '/health/live', readyz: '/health/ready', healthz: false } }
	 */
	paths?: ProbePaths;
}

// Options Fastify itself puts in a plugin's options (register()'s own). Fastify applies none of them to a plugin
// that is not encapsulated, so the plugin applies them to its probe routes.
const FASTIFY_KEYS = ['prefix', 'logLevel', 'logSerializers'];
const KNOWN = [...DRAIN_OPTION_KEYS.filter((key) => key !== 'name'), 'health', 'paths', ...FASTIFY_KEYS];

/** Root servers the plugin was registered for: a second registration would drain and close them twice. */
const registered = new WeakSet<object>();

const USE = 'use `await app.register(gracefulProc, options)` before `app.listen()`';

function assertFastify(fastify: unknown): asserts fastify is FastifyLike {
	if (fastify === null || typeof fastify !== 'object') throw new TypeError(expected('fastify', `a Fastify instance (${USE})`, fastify));
	for (const method of ['addHook', 'get', 'close']) {
		const value = (fastify as Record<string, unknown>)[method];
		if (typeof value !== 'function') {
			throw new TypeError(`${expected('fastify', `a Fastify instance (${USE})`, fastify)}: its \`${method}\` is ${describe(value)}`);
		}
	}
	const { server } = fastify as FastifyLike;
	assertServer('fastify.server', server);
	if (server.listening) {
		throw new TypeError(`${expected('fastify', 'a Fastify instance that does not listen yet', fastify)}, listening on ${addressLabel(server)}: ${USE}`);
	}
	if (registered.has(server)) {
		throw new TypeError(
			`${expected('fastify', 'a Fastify instance graceful-proc/fastify is not registered on', fastify)}, registered on already (with this server or a parent context): register it once, on the root instance`,
		);
	}
}

interface Resolved {
	health: { readonly handler: HealthHandler } | undefined;
	mount: MountOptions;
	drainOptions: Omit<DrainOptions, 'name'>;
}

/** The plugin's options checked, split into the probes' and the drain's. Throws before anything is registered. */
function resolveOptions(options: GracefulProcFastifyOptions | undefined): Resolved {
	resolveDrainOptions(options, { known: KNOWN });
	const { health, paths, prefix, logLevel, logSerializers, ...drainOptions } = (options ?? {}) as GracefulProcFastifyOptions & Record<string, unknown>;
	if (health !== undefined && (health === null || typeof health !== 'object' || typeof health.handler !== 'function')) {
		throw new TypeError(expected('options.health', 'a health ticker (from `createHealthTicker()`)', health));
	}
	assertProbePaths('options.paths', paths);
	if (paths !== undefined && health === undefined) {
		throw new TypeError(expected('options.health', 'a health ticker when `options.paths` is given (the paths are its probes)', health));
	}
	if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError(expected('options.prefix', 'a string', prefix));
	const route = { ...(logLevel !== undefined && { logLevel }), ...(logSerializers !== undefined && { logSerializers }) };
	return { health, mount: { paths, prefix, route: Object.keys(route).length > 0 ? route : undefined }, drainOptions };
}

/**
 * `options` is not optional in the signature (Fastify always passes an object): an optional one would let
 * `app.register(gracefulProc, { delay: '5000' })` type-check, as Fastify's types then infer the options from the
 * object given rather than from the plugin.
 */
async function gracefulProc(fastify: FastifyLike, options: GracefulProcFastifyOptions): Promise<void> {
	// Everything is checked before anything is registered: a bad call leaves the instance and the proc as they were.
	assertFastify(fastify);
	const { health, mount, drainOptions } = resolveOptions(options);
	const proc = procInForce(drainOptions.proc ?? defaultProc);

	// The routes and the hook first: Fastify refuses a route it already has (or any route or hook once it has
	// started), and then nothing of the plugin's is left on the proc.
	if (health !== undefined) mountFastifyProbes(fastify, health, mount);
	// An app the application closes before the shutdown (`await app.close()` at the end of a test) takes its
	// listeners with it: otherwise each such app would leave one for good, and keep the proc's signal handlers on.
	// The drains of the servers Fastify added go when those servers close (drain() sees to it).
	let forget: (() => void) | undefined;
	fastify.addHook('onClose', function forgetClosedApp(_instance: unknown, done: () => void) {
		if (proc.state === 'running') forget?.();
		done();
	});

	const drained = drainFastifyServers(fastify, drainOptions);
	registered.add(fastify.server);
	// The shutdown phase starts once the drains (wrap-up listeners) have settled: onClose hooks (pools) then run
	// after the last response. Fastify's own server.close() finds the server closed, which it ignores.
	const closed = proc.addShutdownListener(() => fastify.close(), { name: 'fastify' });
	forget = () => {
		closed.remove();
		drained.remove();
		registered.delete(fastify.server);
	};
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
