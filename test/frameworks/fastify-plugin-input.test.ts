// graceful-proc/fastify in-process with the real Fastify 5: every bad call is refused with an error that names the
// argument and the value, and leaves nothing behind (no listener on the proc, none on the server, no signal
// handler); the probes as routes wherever Fastify puts them (custom paths, register()'s prefix, a child context),
// answered through Fastify's inject(), without a socket.
import http from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import gracefulProc from '../../src/fastify.js';
import { createHealthTicker } from '../../src/health/index.js';
import { createProc, type Proc } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { tickerJar } from '../helpers/health.js';

const apps: FastifyInstance[] = [];
const jar = tickerJar();
afterEach(async () => {
	await Promise.all(apps.splice(0).map((app) => app.close().catch(() => {})));
	await jar.stopAll();
});

function app(): FastifyInstance {
	const fastify = Fastify();
	apps.push(fastify);
	return fastify;
}

function isolatedProc(): Proc {
	return createProc({ process: createFakeProcess(), exit: false, logger: false });
}

async function readyTicker() {
	const health = jar.track(createHealthTicker({ checks: { self: () => true }, interval: 60_000, proc: false }));
	await health.check();
	return health;
}

/** The 'listening' listeners node and Fastify put on a server of their own: drain() adds one more. */
const OWN_LISTENING = 1;

/** What the plugin may have left: the proc's listeners, and drain()'s wait for the server to listen. */
async function leftBehind(fastify: FastifyInstance, proc: Proc) {
	return {
		listeners: (await proc.shutdown('test')).listeners.map((l) => l.name),
		drainsWhenListening: fastify.server.listenerCount('listening') - OWN_LISTENING,
	};
}

describe('the Fastify plugin refuses bad options at register(), naming the option and the value, and registers nothing', () => {
	const bad: Array<[string, Record<string, unknown>, ErrorConstructor, string]> = [
		['an unknown option', { delai: 5 }, TypeError, 'Unknown option `options.delai`; known options are `delay`, `idleGrace`, `timeout`, `spread`, `proc`, `devWatch`, `health`, `paths`, `prefix`, `logLevel`, `logSerializers`'],
		['a delay given as a string', { delay: '5000' }, TypeError, 'Expected `options.delay` to be a finite number >= 0, got `"5000"` (string)'],
		['a negative delay', { delay: -1 }, RangeError, 'Expected `options.delay` to be a finite number >= 0, got `-1` (number)'],
		['an infinite delay', { delay: Infinity }, RangeError, 'Expected `options.delay` to be a finite number >= 0, got `Infinity` (number)'],
		['a null idleGrace', { idleGrace: null }, TypeError, 'Expected `options.idleGrace` to be a finite number >= 0, got `null` (null)'],
		['a name (the plugin names its listeners)', { name: 'web' }, TypeError, 'Unknown option `options.name`'],
		['health that is not a ticker', { health: {} }, TypeError, 'Expected `options.health` to be a health ticker (from `createHealthTicker()`), got `[Object]` (object)'],
		['health null', { health: null }, TypeError, 'Expected `options.health` to be a health ticker (from `createHealthTicker()`), got `null` (null)'],
		['health as the handler itself', { health: () => {} }, TypeError, 'Expected `options.health` to be a health ticker (from `createHealthTicker()`), got `[Function health]` (function)'],
		['paths that are not an object', { paths: '/health' }, TypeError, 'Expected `options.paths` to be an object of paths for `livez`, `readyz` and `healthz`, got `"/health"` (string)'],
		['paths null', { paths: null }, TypeError, 'Expected `options.paths` to be an object of paths for `livez`, `readyz` and `healthz`, got `null` (null)'],
		['a path for a probe that does not exist', { paths: { ready: '/ready' } }, TypeError, 'Unknown probe `options.paths.ready`; the probes are `livez`, `readyz`, `healthz`'],
		['a path that is a number', { paths: { readyz: 8080 } }, TypeError, "Expected `options.paths.readyz` to be a path starting with '/', or false, got `8080` (number)"],
		['a path of true', { paths: { livez: true } }, TypeError, "Expected `options.paths.livez` to be a path starting with '/', or false, got `true` (boolean)"],
		['a path without its leading slash', { paths: { readyz: 'ready' } }, RangeError, "Expected `options.paths.readyz` to be a path starting with '/', or false, got `\"ready\"` (string)"],
		['a path with a query', { paths: { readyz: '/ready?verbose' } }, RangeError, "Expected `options.paths.readyz` to be a path starting with '/', or false, got `\"/ready?verbose\"` (string)"],
		['a prefix that is not a string', { prefix: 5 }, TypeError, 'Expected `options.prefix` to be a string, got `5` (number)'],
	];
	it.each(bad)('%s', async (_what, options, type, message) => {
		const fastify = app();
		const proc = isolatedProc();
		const health = options.health === undefined && options.paths !== undefined ? await readyTicker() : undefined;
		const registered = fastify.register(gracefulProc, { proc, ...(health && { health }), ...options } as never);
		await expect(registered).rejects.toThrow(type);
		await expect(Promise.resolve(registered)).rejects.toThrow(message);
		expect(await leftBehind(fastify, proc)).toEqual({ listeners: [], drainsWhenListening: 0 });
	});

	it('paths without health: a TypeError that says paths are the ticker’s probes', async () => {
		const fastify = app();
		const proc = isolatedProc();
		await expect(fastify.register(gracefulProc, { proc, paths: { readyz: '/ready' } })).rejects.toThrow(
			'Expected `options.health` to be a health ticker when `options.paths` is given (the paths are its probes), got `undefined` (undefined)',
		);
		expect(await leftBehind(fastify, proc)).toEqual({ listeners: [], drainsWhenListening: 0 });
	});

	// Fastify gives a plugin `{}` for null and undefined options, and calls a function given as options: those are
	// Fastify's to read. What it passes on as it is, the plugin checks.
	const notObjects: Array<[string, unknown, string]> = [
		['a string', 'fast', '`"fast"` (string)'],
		['a number', 5000, '`5000` (number)'],
		['an array', [{ delay: 5000 }], '`[Array(1)]` (array)'],
	];
	it.each(notObjects)('options that are %s: a TypeError, and no signal handler on the process', async (_what, options, shown) => {
		const fastify = app();
		const before = process.listenerCount('SIGTERM');
		await expect(fastify.register(gracefulProc, options as never)).rejects.toThrow(new TypeError(`Expected \`options\` to be an object, got ${shown}`));
		expect(process.listenerCount('SIGTERM')).toBe(before);
		expect(fastify.server.listenerCount('listening')).toBe(OWN_LISTENING);
	});
});

describe('the Fastify plugin refuses an instance it cannot serve, naming it and what is wrong', () => {
	it('registered twice on one instance: the second is a TypeError, and the first stays as it was', async () => {
		const fastify = app();
		const proc = isolatedProc();
		await fastify.register(gracefulProc, { proc });
		await expect(fastify.register(gracefulProc, { proc })).rejects.toThrow(
			new TypeError(
				'Expected `fastify` to be a Fastify instance graceful-proc/fastify is not registered on, got `[Object]` (object), registered on already (with this server or a parent context): register it once, on the root instance',
			),
		);
		expect(await leftBehind(fastify, proc)).toEqual({ listeners: ['fastify'], drainsWhenListening: 1 });
	});

	it('registered in two child contexts of one instance: the second is refused too (they share the servers)', async () => {
		const fastify = app();
		const proc = isolatedProc();
		for (const prefix of ['/a', '/b']) fastify.register(async (child) => void (await child.register(gracefulProc, { proc })), { prefix });
		// Fastify fails its boot with a plugin's error.
		await expect(fastify.ready()).rejects.toThrow('registered on already (with this server or a parent context)');
		expect(await leftBehind(fastify, proc)).toEqual({ listeners: ['fastify'], drainsWhenListening: 1 });
	});

	it('registered after listen(): Fastify refuses the registration itself, and nothing of the plugin runs', async () => {
		const fastify = app();
		const proc = isolatedProc();
		await fastify.listen({ port: 0, host: '127.0.0.1' });
		expect(() => fastify.register(gracefulProc, { proc })).toThrow(expect.objectContaining({ code: 'AVV_ERR_ROOT_PLG_BOOTED' }));
		expect((await proc.shutdown('test')).listeners).toEqual([]);
	});

	it('called by hand on an instance that listens: a TypeError saying where it listens and to register it before listen()', async () => {
		const fastify = app();
		const proc = isolatedProc();
		await fastify.listen({ port: 0, host: '127.0.0.1' });
		const port = (fastify.server.address() as { port: number }).port;
		await expect(gracefulProc(fastify, { proc })).rejects.toThrow(
			new TypeError(
				`Expected \`fastify\` to be a Fastify instance that does not listen yet, got \`[Object]\` (object), listening on 127.0.0.1:${port}: use \`await app.register(gracefulProc, options)\` before \`app.listen()\``,
			),
		);
		expect((await proc.shutdown('test')).listeners).toEqual([]);
	});

	const notFastify: Array<[string, () => unknown, string]> = [
		['undefined', () => undefined, 'Expected `fastify` to be a Fastify instance (use `await app.register(gracefulProc, options)` before `app.listen()`), got `undefined` (undefined)'],
		['a string', () => 'app', 'got `"app"` (string)'],
		[
			'a Fastify-like object without close()',
			() => ({ server: http.createServer(), addHook() {}, get() {} }),
			'Expected `fastify` to be a Fastify instance (use `await app.register(gracefulProc, options)` before `app.listen()`), got `[Object]` (object): its `close` is `undefined` (undefined)',
		],
		['one whose close is not a function', () => ({ server: http.createServer(), addHook() {}, get() {}, close: true }), 'its `close` is `true` (boolean)'],
		['one without addHook()', () => ({ server: http.createServer(), get() {}, close() {} }), 'its `addHook` is `undefined` (undefined)'],
		[
			'one whose server is not an http server',
			() => ({ server: {}, addHook() {}, get() {}, close() {} }),
			'Expected `fastify.server` to be an http, https or http2 server (what `app.listen()` returns), got `[Object]` (object)',
		],
	];
	it.each(notFastify)('%s: a TypeError naming `fastify` and what it lacks, and nothing registered', async (_what, make, message) => {
		const proc = isolatedProc();
		const value = make() as { server?: http.Server };
		await expect(gracefulProc(value as never, { proc })).rejects.toThrow(TypeError);
		await expect(gracefulProc(value as never, { proc })).rejects.toThrow(message);
		expect((await proc.shutdown('test')).listeners).toEqual([]);
		if (value?.server instanceof http.Server) expect(value.server.listenerCount('listening')).toBe(OWN_LISTENING);
	});

	it('a probe path the app already has: Fastify’s own error, and nothing of the plugin registered', async () => {
		const fastify = app();
		const proc = isolatedProc();
		fastify.get('/readyz', async () => 'the app’s');
		await expect(fastify.register(gracefulProc, { proc, health: await readyTicker() })).rejects.toThrow(/readyz/);
		expect(await leftBehind(fastify, proc)).toEqual({ listeners: [], drainsWhenListening: 0 });
	});
});

describe('an app the application closes before the shutdown takes the plugin’s listeners with it', () => {
	it('listening or not, from the root or a child context: nothing left on the proc, its signal handlers gone, and the next app registers as the first did', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false });
		// As a test file does: an app per test, closed at its end.
		for (const [listens, inChild] of [[true, false], [false, false], [true, true]]) {
			const fastify = Fastify();
			const options = { proc, health: await readyTicker() };
			if (inChild) await fastify.register(async (child) => void (await child.register(gracefulProc, options)), { prefix: '/api' });
			else await fastify.register(gracefulProc, options);
			expect(fake.listenerCount('SIGTERM')).toBe(1);
			if (listens) await fastify.listen({ port: 0, host: '127.0.0.1' });
			await fastify.close();
			expect(fake.listenerCount('SIGTERM')).toBe(0);
			expect(fastify.server.listenerCount('listening')).toBe(OWN_LISTENING);
		}
		expect((await proc.shutdown('test')).listeners).toEqual([]);
	});

	it('while the app closed by the shutdown keeps them until they have run', async () => {
		const proc = isolatedProc();
		const fastify = app();
		await fastify.register(gracefulProc, { proc });
		await fastify.listen({ port: 0, host: '127.0.0.1' });
		const port = (fastify.server.address() as { port: number }).port;
		const report = await proc.shutdown('test');
		expect(report.listeners.map((l) => `${l.phase} ${l.name} ${l.outcome}`)).toEqual([
			`wrap-up http 127.0.0.1:${port} ok`,
			'shutdown fastify ok',
		]);
	});
});

describe('the Fastify plugin mounts the probes as routes where the app asks', () => {
	async function probe(fastify: FastifyInstance, url: string, method: 'GET' | 'HEAD' = 'GET') {
		const answer = await fastify.inject({ method, url });
		return [answer.statusCode, answer.body];
	}
	const OK = [200, '{"status":"ok"}'];

	it('at /livez, /readyz and /healthz by default, query strings and HEAD included', async () => {
		const fastify = app();
		await fastify.register(gracefulProc, { proc: isolatedProc(), health: await readyTicker() });
		for (const path of ['/livez', '/readyz', '/healthz']) expect(await probe(fastify, path), path).toEqual(OK);
		expect(JSON.parse((await probe(fastify, '/readyz?verbose'))[1] as string)).toMatchObject({ status: 'ok', checks: { self: { ok: true } } });
		expect(await probe(fastify, '/readyz', 'HEAD')).toEqual([200, '']);
	});

	it('at paths of the app’s own, a probe left out with false', async () => {
		const fastify = app();
		const health = await readyTicker();
		await fastify.register(gracefulProc, { proc: isolatedProc(), health, paths: { livez: '/health/live', readyz: '/health/ready', healthz: false } });
		expect(await probe(fastify, '/health/live')).toEqual(OK);
		expect(await probe(fastify, '/health/ready')).toEqual(OK);
		health.setReady(false);
		expect(await probe(fastify, '/health/ready')).toEqual([503, '{"status":"fail","reason":"set not ready"}']);
		expect(await probe(fastify, '/health/live')).toEqual(OK);
		expect(JSON.parse((await probe(fastify, '/health/ready?verbose=1'))[1] as string)).toMatchObject({ ready: false, checks: { self: { ok: true } } });
		for (const path of ['/livez', '/readyz', '/healthz']) expect((await probe(fastify, path))[0], path).toBe(404);
	});

	it('under register()’s prefix, which Fastify itself does not apply to a plugin it does not encapsulate', async () => {
		const fastify = app();
		await fastify.register(gracefulProc, { proc: isolatedProc(), health: await readyTicker(), prefix: '/ops/' });
		for (const path of ['/ops/livez', '/ops/readyz', '/ops/healthz']) expect(await probe(fastify, path), path).toEqual(OK);
		expect((await probe(fastify, '/readyz'))[0]).toBe(404);
	});

	it('inside a child context with a prefix: under the child’s prefix, answered, and the root’s servers drained', async () => {
		const fastify = app();
		const proc = isolatedProc();
		await fastify.register(
			async (child) => {
				await child.register(gracefulProc, { proc, health: await readyTicker() });
			},
			{ prefix: '/api' },
		);
		for (const path of ['/api/livez', '/api/readyz', '/api/healthz']) expect(await probe(fastify, path), path).toEqual(OK);
		await fastify.listen({ port: 0, host: '127.0.0.1' });
		const port = (fastify.server.address() as { port: number }).port;
		expect((await proc.shutdown('test')).listeners.map((l) => `${l.phase} ${l.name} ${l.outcome}`)).toEqual([
			`wrap-up http 127.0.0.1:${port} ok`,
			'shutdown fastify ok',
		]);
		expect(fastify.server.listening).toBe(false);
	});

	it('with register()’s logLevel on the probe routes: probes can be kept out of the request log', async () => {
		const lines: string[] = [];
		const fastify = Fastify({ logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } } });
		apps.push(fastify);
		await fastify.register(gracefulProc, { proc: isolatedProc(), health: await readyTicker(), logLevel: 'warn' });
		fastify.get('/hello', async () => 'hello');
		expect(await probe(fastify, '/readyz')).toEqual(OK);
		expect(lines.filter((line) => line.includes('/readyz'))).toEqual([]);
		await probe(fastify, '/hello');
		expect(lines.filter((line) => line.includes('/hello')).length).toBeGreaterThan(0);
	});
});
