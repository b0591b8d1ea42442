// The `graceful-proc/nest` entry point: gracefulNest(app) drains a NestJS application's HTTP server, then calls
// app.close() in the shutdown phase, so that Nest's shutdown hooks run after the last response; it mounts the
// health probes, and takes over the handlers of app.enableShutdownHooks(). Duck-typed: it imports nothing from Nest.
import type net from 'node:net';
import { drainFastifyServers, type FastifyServers } from './fastify-servers.js';
import { type FastifyRoutes, mountFastifyProbes } from './fastify-probes.js';
import type { HealthHandler } from './health/types.js';
import { drain } from './http/drain.js';
import { DRAIN_OPTION_KEYS, type DrainOptions, resolveDrainOptions } from './http/options.js';
import { assertServer } from './http/server-kind.js';
import { proc as defaultProc } from './index.js';
import { procInForce } from './testing-protocol.js';
import { nestField, takeOverShutdownHooks } from './nest-shutdown-hooks.js';
import type { ListenerContext, WaitFunction } from './types.js';
import { expected } from './validate.js';

/** What gracefulNest() uses of a Nest application; `INestApplication` (Express or Fastify platform) fits. */
export interface NestApplicationLike {
	getHttpServer(): unknown;
	getHttpAdapter(): { getInstance(): unknown };
	use(...args: any[]): unknown;
	close(signal?: string): Promise<unknown>;
}

export interface GracefulNestOptions extends Omit<DrainOptions, 'name'> {
	/**
	 * A health ticker (`createHealthTicker()` from `graceful-proc/health`) whose probes `/livez`, `/readyz` and
	 * `/healthz` are mounted ahead of Nest's routes: as middleware on the Express platform, as routes of the Fastify
	 * instance on the Fastify platform. Outside any global prefix, guard or interceptor.
	 * @example { health: createHealthTicker({ checks: { db: (signal) => dataSource.query('select 1') } }) }
	 */
	health?: { readonly handler: HealthHandler };
}

type NestApp = NestApplicationLike & object;
type FastifyInstanceLike = FastifyServers & FastifyRoutes;

const KNOWN = [...DRAIN_OPTION_KEYS.filter((key) => key !== 'name'), 'health'];

/** The servers of the apps set up, so that one app is not set up twice. */
const setUp = new WeakSet<object>();

function assertNestApp(app: unknown): asserts app is NestApp {
	const a = app as Partial<NestApplicationLike> | null;
	if (a !== null && typeof a === 'object' && typeof a.getHttpServer === 'function' && typeof a.getHttpAdapter === 'function' && typeof a.use === 'function' && typeof a.close === 'function') return;
	const what = 'a Nest application with an HTTP server (what `await NestFactory.create(AppModule)` returns)';
	const forgotAwait = typeof (a as { then?: unknown } | null)?.then === 'function' ? '; await NestFactory.create() first' : '';
	throw new TypeError(expected('app', what, app) + forgotAwait);
}

/** The Fastify instance under Nest's Fastify platform (its server is the app's); undefined on Express. */
function fastifyOf(app: NestApp, server: net.Server): FastifyInstanceLike | undefined {
	let instance: unknown;
	try {
		instance = app.getHttpAdapter()?.getInstance?.();
	} catch {
		return undefined;
	}
	const f = instance as Partial<FastifyInstanceLike> | null;
	return f !== null && typeof f === 'object' && typeof f.addHook === 'function' && typeof f.get === 'function' && f.server === server ? (f as FastifyInstanceLike) : undefined;
}

/** What Nest's hooks get as `signal`: the signal that started the sequence, none when it was started otherwise. */
function signalOf(reason: unknown): string | undefined {
	return typeof reason === 'string' && /^SIG[A-Z0-9]+$/.test(reason) ? reason : undefined;
}

/**
 * Make a Nest application stop well: on SIGTERM its HTTP server keeps serving for `delay` ms while readiness says
 * 503, then stops accepting and lets every running request finish (the drain of `graceful-proc/http`); in the
 * shutdown phase, after the last response, `app.close(signal)` runs Nest's `onModuleDestroy`,
 * `beforeApplicationShutdown` and `onApplicationShutdown` hooks. Handlers that `app.enableShutdownHooks()` put on
 * the signals that start the sequence are taken off them, whether it was called before or after, up to `listen()`.
 * Call it before `app.listen()` when it mounts `health`. Returns the wait of the shutdown listener (`'nest'`).
 *
 * @example
 * const app = await NestFactory.create(AppModule)
 * gracefulNest(app, { delay: 5000, health })
 * await app.listen(3000)
 */
export function gracefulNest(app: NestApplicationLike, options: GracefulNestOptions = {}): WaitFunction {
	assertNestApp(app);
	const server = app.getHttpServer();
	assertServer('app.getHttpServer()', server);
	resolveDrainOptions(options, { known: KNOWN });
	const { health, ...drainOptions } = options;
	if (health !== undefined && (health === null || typeof health !== 'object' || typeof health.handler !== 'function')) {
		throw new TypeError(expected('options.health', 'a health ticker (from `createHealthTicker()`)', health));
	}
	if (setUp.has(server)) throw new TypeError('Expected `app` to be set up by gracefulNest() once, got an app it already set up');
	if (health !== undefined && nestField(app, 'isInitialized') === true) {
		throw new TypeError(
			'Expected `app` not to be initialized yet when `options.health` is given, got an app after app.init() or app.listen(): ' +
				'Nest has set its routes and its not-found handler, which answer before anything mounted now. Call gracefulNest(app, { health }) before app.listen().',
		);
	}
	const proc = procInForce(drainOptions.proc ?? defaultProc);
	const fastify = fastifyOf(app, server);

	// Before anything is registered: the first listener installs the proc's handlers, which looks for others.
	const giveBack = takeOverShutdownHooks(app, proc);
	let drained: WaitFunction;
	try {
		drained = fastify === undefined ? drain(server, drainOptions) : drainFastifyServers(fastify, drainOptions);
	} catch (error) {
		giveBack();
		throw error;
	}
	setUp.add(server);
	if (health !== undefined) {
		if (fastify === undefined) app.use(health.handler);
		else mountFastifyProbes(fastify, health);
	}
	// The shutdown phase starts once the drains (wrap-up listeners) have settled. Nest's own server.close() then
	// finds the server closed, which it ignores.
	const closed = proc.addShutdownListener((context: ListenerContext) => app.close(signalOf(context.reason)), { name: 'nest' });
	// enableShutdownHooks() is often the line before app.listen().
	if (!server.listening) server.once('listening', () => takeOverShutdownHooks(app, proc));
	// An app closed before the shutdown (app.close() at the end of a test) takes its listeners with it.
	server.once('close', () => {
		if (proc.state !== 'running') return;
		closed.remove();
		drained.remove();
	});
	return closed;
}

export default gracefulNest;
