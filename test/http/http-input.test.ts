// Bad input to drain() and serve() is rejected at the call, names the argument and the value, and leaves
// nothing behind: no listener on the proc, none on the server, nothing listening.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { drain, serve } from '../../src/http/index.js';
import { createFakeProcess } from '../../src/testing.js';

const servers: http.Server[] = [];
afterEach(() => {
	for (const server of servers.splice(0)) server.close();
});

async function listening(): Promise<http.Server> {
	const server = http.createServer((_req, res) => res.end());
	servers.push(server);
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	return server;
}

function isolatedProc() {
	return createProc({ process: createFakeProcess(), exit: false, logger: false });
}

const EVENTS = ['request', 'connection', 'close', 'newListener', 'removeListener'] as const;

describe('drain() rejects what is not an http server', () => {
	const notServers: Array<[string, unknown, string]> = [
		['undefined', undefined, '`undefined` (undefined)'],
		['a string', 'server', '`"server"` (string)'],
		['a plain object', { listen() {}, close() {} }, '`[Object]` (object)'],
		['a socket', new net.Socket(), '`[Socket]` (object)'],
		['a TCP server that does not speak HTTP', net.createServer(), '`[Server]` (object)'],
	];
	it.each(notServers)('%s: TypeError', async (_what, value, shown) => {
		const proc = isolatedProc();
		expect(() => drain(value as never, { proc })).toThrow(TypeError);
		expect(() => drain(value as never, { proc })).toThrow(
			`Expected \`server\` to be an http, https or http2 server (what \`app.listen()\` returns), got ${shown}`,
		);
		expect((await proc.shutdown()).listeners).toEqual([]);
	});

	it('but takes one that does not listen yet: it is drained once it listens (see http-listen-later)', async () => {
		const proc = isolatedProc();
		const server = http.createServer();
		servers.push(server);
		expect(() => drain(server, { proc })).not.toThrow();
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		expect(EVENTS.map((event) => server.listenerCount(event))).toEqual([1, 2, 1, 2, 2]);
		expect((await proc.shutdown()).listeners).toHaveLength(1);
	});

});

describe('drain() rejects bad options with TypeError or RangeError, and registers nothing', () => {
	const bad: Array<[unknown, ErrorConstructor, string]> = [
		[{ delay: -1 }, RangeError, 'Expected `options.delay` to be a finite number >= 0, got `-1` (number)'],
		[{ delay: '5s' }, TypeError, 'Expected `options.delay` to be a finite number >= 0, got `"5s"` (string)'],
		[{ idleGrace: Number.NaN }, RangeError, 'Expected `options.idleGrace` to be a finite number >= 0, got `NaN` (number)'],
		[{ idleGrace: null }, TypeError, 'Expected `options.idleGrace` to be a finite number >= 0, got `null` (null)'],
		[{ timeout: Number.POSITIVE_INFINITY }, RangeError, 'Expected `options.timeout` to be a finite number >= 0, got `Infinity` (number)'],
		[{ timeout: -5 }, RangeError, 'Expected `options.timeout` to be a finite number >= 0, got `-5` (number)'],
		[{ name: '' }, RangeError, 'Expected `options.name` to be a non-empty string, got `""` (string)'],
		[{ name: 42 }, TypeError, 'Expected `options.name` to be a non-empty string, got `42` (number)'],
		[{ proc: {} }, TypeError, 'Expected `options.proc` to be a proc (from `createProc()` or the process-wide `proc`), got `[Object]` (object)'],
		[{ devWatch: true }, TypeError, 'Expected `options.devWatch` to be false or an object with `delay` and `idleGrace`, got `true` (boolean)'],
		[{ devWatch: null }, TypeError, 'Expected `options.devWatch` to be false or an object with `delay` and `idleGrace`, got `null` (null)'],
		[{ devWatch: { delay: -1 } }, RangeError, 'Expected `options.devWatch.delay` to be a finite number >= 0, got `-1` (number)'],
		[{ devWatch: { idleGrace: null } }, TypeError, 'Expected `options.devWatch.idleGrace` to be a finite number >= 0, got `null` (null)'],
		[{ devWatch: { dealy: 0 } }, TypeError, 'Unknown option `options.devWatch.dealy`; known options are `delay`, `idleGrace`'],
		[{ idlegrace: 100 }, TypeError, 'Unknown option `options.idlegrace`; known options are `delay`, `idleGrace`, `timeout`, `spread`, `name`, `proc`, `devWatch`'],
		[null, TypeError, 'Expected `options` to be an object, got `null` (null)'],
		[500, TypeError, 'Expected `options` to be an object, got `500` (number)'],
	];
	it.each(bad)('%o', async (options, type, message) => {
		const proc = isolatedProc();
		const server = await listening();
		const before = EVENTS.map((event) => server.listenerCount(event));
		const withProc = options !== null && typeof options === 'object' && !('proc' in options) ? { ...options, proc } : options;
		expect(() => drain(server, withProc as never)).toThrow(type);
		expect(() => drain(server, withProc as never)).toThrow(message);
		expect(EVENTS.map((event) => server.listenerCount(event))).toEqual(before);
		expect((await proc.shutdown()).listeners).toEqual([]);
		expect(server.listening).toBe(true);
	});
});

describe('serve() rejects bad input before it listens, and registers nothing', () => {
	const bad: Array<[string, unknown, unknown, ErrorConstructor, string]> = [
		['no app', undefined, {}, TypeError, 'Expected `app` to be an Express app, a Koa app or a `(req, res)` handler, got `undefined` (undefined)'],
		['an object without callback()', { use() {} }, {}, TypeError, 'Expected `app` to be an Express app, a Koa app or a `(req, res)` handler, got `[Object]` (object)'],
		['a callback() that returns no listener', { callback: () => 'x' }, {}, TypeError, 'Expected `app.callback()` to be a request listener, got `"x"` (string)'],
		['a negative port', () => {}, { port: -1 }, RangeError, 'Expected `options.port` to be an integer from 0 to 65535, got `-1` (number)'],
		['a port too high', () => {}, { port: 70_000 }, RangeError, 'Expected `options.port` to be an integer from 0 to 65535, got `70000` (number)'],
		['a port that is not a number', () => {}, { port: 'http' }, TypeError, 'Expected `options.port` to be an integer from 0 to 65535, got `"http"` (string)'],
		['a host that is not a string', () => {}, { host: 127 }, TypeError, 'Expected `options.host` to be a string, got `127` (number)'],
		['a negative delay', () => {}, { delay: -1 }, RangeError, 'Expected `options.delay` to be a finite number >= 0, got `-1` (number)'],
		['a Hono app', new Hono(), {}, TypeError, 'Expected `app` to be an Express app, a Koa app or a `(req, res)` handler, got `[Hono]` (object): a fetch-style app (it has `fetch()`, which takes a web Request); serve it with @hono/node-server'],
		['an object with fetch() and no callback()', { fetch: () => new Response('x') }, {}, TypeError, 'got `[Object]` (object): a fetch-style app (it has `fetch()`'],
		["Hono's app.fetch", new Hono().fetch, {}, TypeError, 'Expected `app` to be an Express app, a Koa app or a `(req, res)` handler, got `[Function fetch]` (function): a function of one parameter, as a fetch-style handler `(request) => Response` is, never answers a node request; serve it with @hono/node-server'],
		['a function of one parameter', (request: Request) => new Response(request.url), {}, TypeError, 'a function of one parameter, as a fetch-style handler'],
		['an unknown option', () => {}, { prot: 80 }, TypeError, 'Unknown option `options.prot`; known options are `port`, `host`, `socketName`, `delay`, `idleGrace`, `timeout`, `spread`, `name`, `proc`, `devWatch`'],
	];
	it.each(bad)('%s', async (_what, app, options, type, message) => {
		const proc = isolatedProc();
		const served = serve(app as never, { ...(options as object), proc });
		await expect(served).rejects.toThrow(type);
		await expect(served).rejects.toThrow(message);
		expect((await proc.shutdown()).listeners).toEqual([]);
	});
});
