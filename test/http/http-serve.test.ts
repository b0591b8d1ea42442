// serve() and drain() in-process, with an isolated proc on a fake process (graceful-proc/testing).
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { drain, serve } from '../../src/http/index.js';
import { createFakeProcess } from '../../src/testing.js';
import type { Proc } from '../../src/types.js';
import { failure, keepAliveAgent, request } from '../helpers/http-harness.js';
import { listenOnLoopback } from '../helpers/loopback.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
	for (const fn of cleanup.splice(0)) fn();
});

function isolatedProc(): Proc {
	return createProc({ process: createFakeProcess(), exit: false, logger: false });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Requests the test servers have received so far: a test waits for these, never for a fixed time. */
let arrived = 0;
afterEach(() => {
	arrived = 0;
});
async function arrivals(count: number): Promise<void> {
	while (arrived < count) await sleep(2);
}

function handler(req: http.IncomingMessage, res: http.ServerResponse) {
	arrived += 1;
	const ms = Number(new URL(req.url!, 'http://x').searchParams.get('ms') ?? 0);
	setTimeout(() => res.end('plain\n'), ms);
}

const apps = {
	express: () => {
		const app = express();
		app.get('/', (req, res) => {
			arrived += 1;
			const ms = Number(req.query.ms ?? 0);
			setTimeout(() => res.send('express\n'), ms);
		});
		return app;
	},
	koa: () => {
		const app = new Koa();
		app.use(async (ctx) => {
			arrived += 1;
			await sleep(Number(ctx.query.ms ?? 0));
			ctx.body = 'koa\n';
		});
		return app;
	},
	handler: () => handler,
};

async function listening(listener: http.RequestListener = handler): Promise<http.Server> {
	const server = http.createServer(listener);
	await listenOnLoopback(server, cleanup);
	return server;
}

const portOf = (server: http.Server) => (server.address() as AddressInfo).port;

describe('serve() takes an Express app, a Koa app or a plain handler, listens, and drains on shutdown', () => {
	it.each(Object.keys(apps) as Array<keyof typeof apps>)('%s', async (kind) => {
		const proc = isolatedProc();
		const { server, url, wait } = await serve(apps[kind](), { port: 0, host: '127.0.0.1', proc });
		cleanup.push(() => server.close());
		const port = portOf(server);
		expect(url).toBe(`http://127.0.0.1:${port}`);
		const first = await request({ port, path: '/' });
		expect([first.status, first.body]).toEqual([200, `${kind === 'handler' ? 'plain' : kind}\n`]);
		const inFlight = request({ port, path: '/?ms=300' });
		await arrivals(2);
		const report = await proc.shutdown('test');
		const answer = await inFlight;
		expect([answer.status, answer.headers.connection]).toEqual([200, 'close']);
		expect(report.outcome).toBe('clean');
		expect(report.listeners).toEqual([expect.objectContaining({ name: `http 127.0.0.1:${port}`, outcome: 'ok' })]);
		await expect(wait()).resolves.toBeUndefined();
		expect(server.listening).toBe(false);
	});
});

describe('serve() never leaves a request hanging on a handler that returns a web Response', () => {
	it('answers 500 at once, for a Response returned or resolved, and warns once with GRACEFUL_PROC_FETCH_HANDLER', async () => {
		const warnings: Error[] = [];
		const onWarning = (warning: Error) => warnings.push(warning);
		process.on('warning', onWarning);
		cleanup.push(() => process.off('warning', onWarning));
		const proc = isolatedProc();
		// Two parameters, as `(request, env) => Response` has: serve() cannot tell it apart from a node handler.
		const fetchStyle = (request: unknown, _env: unknown) => {
			const url = (request as { url: string }).url;
			return url.startsWith('/async') ? Promise.resolve(new Response('never sent')) : new Response('never sent');
		};
		const { server } = await serve(fetchStyle as never, { port: 0, host: '127.0.0.1', proc });
		cleanup.push(() => server.close());
		const port = portOf(server);
		const answers = await Promise.all([request({ port, path: '/' }), request({ port, path: '/async' }), request({ port, path: '/' })]);
		expect(answers.map((answer) => [answer.status, answer.body])).toEqual(Array(3).fill([500, 'Internal Server Error\n']));
		await new Promise((resolve) => setImmediate(resolve));
		const ours = warnings.filter((warning) => (warning as { code?: string }).code === 'GRACEFUL_PROC_FETCH_HANDLER');
		expect(ours).toHaveLength(1);
		expect(ours[0]!.message).toContain('returned a web Response');
		expect((await proc.shutdown('test')).outcome).toBe('clean');
	});

	it('leaves a handler that answers, and returns something else, alone', async () => {
		const proc = isolatedProc();
		const { server } = await serve(async (_req, res) => void res.end('answered'), { port: 0, host: '127.0.0.1', proc });
		cleanup.push(() => server.close());
		const answer = await request({ port: portOf(server), path: '/' });
		expect([answer.status, answer.body]).toEqual([200, 'answered']);
		await proc.shutdown('test');
	});
});

describe('serve() resolves to { server, url }, with a url a client on this machine can use', () => {
	it('turns the wildcard address into loopback, and takes the port as a numeric string', async () => {
		const proc = isolatedProc();
		const { server, url } = await serve(handler, { port: '0', host: '0.0.0.0', proc });
		cleanup.push(() => server.close());
		expect(url).toBe(`http://127.0.0.1:${portOf(server)}`);
		expect((await request({ port: portOf(server), path: '/' })).status).toBe(200);
	});
});

describe('the listener’s name and serve()’s url name the server the same way (issue 16)', () => {
	it('every interface (node’s default host, `::`): `localhost`, which reaches it whichever family it resolves to', async () => {
		const proc = isolatedProc();
		const { server, url } = await serve(handler, { proc });
		cleanup.push(() => server.close());
		const port = portOf(server);
		expect((server.address() as AddressInfo).address).toBe('::');
		expect(url).toBe(`http://localhost:${port}`);
		expect(await (await fetch(url)).text()).toBe('plain\n');
		const report = await proc.shutdown();
		expect(report.listeners.map((l) => l.name)).toEqual([`http localhost:${port}`]);
	});

	it.each([
		['0.0.0.0', '127.0.0.1'],
		['127.0.0.1', '127.0.0.1'],
		['::1', '[::1]'],
	])('host %s: %s', async (host, shown) => {
		const proc = isolatedProc();
		const { server, url, wait } = await serve(handler, { port: 0, host, proc });
		cleanup.push(() => server.close());
		const port = portOf(server);
		expect(url).toBe(`http://${shown}:${port}`);
		expect(wait.listenerName).toBe(`http ${shown}:${port}`);
		expect(await (await fetch(url)).text()).toBe('plain\n');
	});

	it('the `url` documented in the published types says so: `localhost` with the default host', () => {
		const types = readFileSync(new URL('../../dist/http/serve.d.ts', import.meta.url), 'utf8');
		const doc = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*url: string;/.exec(types)?.[1] ?? '';
		expect(doc).toMatch(/`http:\/\/localhost:3000` with the default host/);
		expect(doc).toMatch(/`http:\/\/127\.0\.0\.1:3000` with `host: '127\.0\.0\.1'`/);
	});
});

describe('serve() rejects a listen error with node’s own error, and registers nothing', () => {
	it('port in use: EADDRINUSE', async () => {
		const taken = await listening();
		const proc = isolatedProc();
		const error = await serve(handler, { port: portOf(taken), host: '127.0.0.1', proc }).catch((e: NodeJS.ErrnoException) => e);
		expect(error).toBeInstanceOf(Error);
		expect((error as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
		expect((await proc.shutdown()).listeners).toEqual([]);
	});

	it('an address that is not this machine’s: EADDRNOTAVAIL', async () => {
		const proc = isolatedProc();
		// 192.0.2.0/24 is reserved for documentation (RFC 5737): never a local address.
		const error = await serve(handler, { port: 0, host: '192.0.2.1', proc }).catch((e: NodeJS.ErrnoException) => e);
		expect((error as NodeJS.ErrnoException).code).toBe('EADDRNOTAVAIL');
		expect((await proc.shutdown()).listeners).toEqual([]);
	});
});

describe('drain() returns the listener’s wait', () => {
	it('named after the protocol and address, or `name`, and resolving once the server has drained', async () => {
		const proc = isolatedProc();
		const server = await listening();
		const wait = drain(server, { proc });
		expect(wait.listenerName).toBe(`http 127.0.0.1:${portOf(server)}`);
		const other = await listening();
		expect(drain(other, { proc, name: 'metrics' }).listenerName).toBe('metrics');
		const inFlight = request({ port: portOf(server), path: '/?ms=200' });
		await arrivals(1);
		void proc.shutdown();
		let drained = false;
		void wait().then(() => (drained = true));
		await sleep(20);
		expect(drained).toBe(false);
		await inFlight;
		await wait();
		expect(server.listening).toBe(false);
	});

	it('whose remove() unregisters it and leaves the server as it was', async () => {
		const proc = isolatedProc();
		const server = await listening();
		const events = ['request', 'connection', 'close', 'newListener', 'removeListener', 'upgrade'] as const;
		const before = events.map((event) => server.listenerCount(event));
		const wait = drain(server, { proc });
		expect(wait.remove()).toBe(true);
		expect(events.map((event) => server.listenerCount(event))).toEqual(before);
		expect((await proc.shutdown()).listeners).toEqual([]);
		expect(server.listening).toBe(true);
		// And it can be drained again.
		drain(server, { proc: isolatedProc() }).remove();
	});

	it('and a server closed before shutdown takes its listener with it', async () => {
		const proc = isolatedProc();
		const server = await listening();
		drain(server, { proc });
		server.close();
		await once(server, 'close');
		expect((await proc.shutdown()).listeners).toEqual([]);
	});

	it('one per server: draining a server twice is an error', async () => {
		const proc = isolatedProc();
		const server = await listening();
		drain(server, { proc });
		expect(() => drain(server, { proc })).toThrow(TypeError);
		expect(() => drain(server, { proc })).toThrow(/drained once/);
		expect((await proc.shutdown()).listeners).toHaveLength(1);
	});
});

describe('several servers in one process (app, metrics, admin) drain concurrently', () => {
	it('each answers its request in flight, and the shutdown takes as long as the slowest, not the sum', async () => {
		const proc = isolatedProc();
		const servers = await Promise.all([listening(), listening(), listening()]);
		servers.forEach((server, index) => drain(server, { proc, name: ['app', 'metrics', 'admin'][index] }));
		const answers = servers.map((server) => request({ port: portOf(server), path: '/?ms=400' }));
		await arrivals(3);
		const report = await proc.shutdown();
		for (const answer of await Promise.all(answers)) expect([answer.status, answer.headers.connection]).toEqual([200, 'close']);
		expect(report.outcome).toBe('clean');
		expect(report.listeners.map((l) => [l.name, l.outcome])).toEqual([
			['app', 'ok'],
			['metrics', 'ok'],
			['admin', 'ok'],
		]);
		expect(report.durationMs).toBeLessThan(2 * 400);
	});
});

describe('connections accepted before drain() was called are drained too', () => {
	it('a request on one during the drain gets `Connection: close`; idle ones close after idleGrace', async () => {
		const proc = isolatedProc();
		const server = await listening();
		const early = keepAliveAgent();
		const idle = keepAliveAgent();
		cleanup.push(() => {
			early.destroy();
			idle.destroy();
		});
		await request({ port: portOf(server), path: '/', agent: early });
		let idleSocket: import('node:net').Socket | undefined;
		await request({ port: portOf(server), path: '/', agent: idle, onSocket: (s) => (idleSocket = s) });
		const idleClosed = once(idleSocket!, 'close').then(() => performance.now());
		drain(server, { proc, idleGrace: 300 });
		const port = portOf(server);
		const started = performance.now();
		const shutdown = proc.shutdown();
		const during = await request({ port, path: '/?ms=50', agent: early });
		expect([during.status, during.headers.connection]).toEqual([200, 'close']);
		const report = await shutdown;
		expect(report.outcome).toBe('clean');
		// node's own bookkeeping closed the idle one, after the grace.
		expect((await idleClosed) - started).toBeGreaterThanOrEqual(250);
	});
});

describe('pipelined requests that arrive during the drain are all answered, and the connection closes after the last', () => {
	it('moves `Connection: close` from an earlier response to the one behind it', async () => {
		const proc = isolatedProc();
		const seen: string[] = [];
		const server = await listening((req, res) => {
			seen.push(req.url!);
			handler(req, res);
		});
		drain(server, { proc });
		const { connect } = await import('node:net');
		const socket = connect(portOf(server), '127.0.0.1');
		await once(socket, 'connect');
		let received = '';
		socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
		const ended = once(socket, 'end');
		socket.write('GET /?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n');
		while (seen.length < 1) await sleep(5);
		void proc.shutdown();
		await sleep(20);
		socket.write('GET /?ms=10 HTTP/1.1\r\nHost: x\r\n\r\n');
		await ended;
		const responses = received.split('HTTP/1.1 ').slice(1);
		expect(responses).toHaveLength(2);
		expect(responses[0]).toMatch(/^200 OK/);
		// HTTP/1.1 connections persist unless a response says otherwise.
		expect(responses[0]).not.toMatch(/Connection: close/i);
		expect(responses[1]).toMatch(/^200 OK/);
		expect(responses[1]).toMatch(/Connection: close/i);
		socket.destroy();
	});
});

describe('a connection taken over by an `upgrade` listener (WebSocket) is left to its owner until the deadline', () => {
	it('is not closed as idle, and is destroyed at `timeout`', async () => {
		const proc = isolatedProc();
		const server = await listening();
		server.on('upgrade', (_req, socket) => {
			socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
		});
		drain(server, { proc, idleGrace: 50, timeout: 1500 });
		const client = http.request({ host: '127.0.0.1', port: portOf(server), headers: { Connection: 'Upgrade', Upgrade: 'test' } });
		client.end();
		const [, upgraded] = (await once(client, 'upgrade')) as [http.IncomingMessage, import('node:net').Socket];
		const started = performance.now();
		const shutdown = proc.shutdown();
		const closedAt = once(upgraded, 'close').then(() => performance.now() - started);
		// Long past the grace, long before the timeout.
		await sleep(400);
		expect(upgraded.destroyed).toBe(false);
		expect(await closedAt).toBeGreaterThanOrEqual(1400);
		// No request was cut: an upgraded connection is not one.
		expect((await shutdown).outcome).toBe('clean');
	});

	it('and a server with no such listener gets none from drain(), so node goes on refusing upgrades', async () => {
		const server = await listening();
		drain(server, { proc: isolatedProc() });
		expect(server.listenerCount('upgrade')).toBe(0);
		expect(server.listenerCount('connect')).toBe(0);
		const client = http.request({ host: '127.0.0.1', port: portOf(server), headers: { Connection: 'Upgrade', Upgrade: 'test' } });
		client.end();
		// Without an 'upgrade' listener node serves it as a plain request.
		const [response] = (await once(client, 'response')) as [http.IncomingMessage];
		expect(response.statusCode).toBe(200);
		response.resume();
	});
});

describe('requests cut at the deadline', () => {
	it('fail the drain with DrainTimeoutError when `timeout` comes first', async () => {
		const proc = isolatedProc();
		const server = await listening();
		const wait = drain(server, { proc, timeout: 300 });
		const cut = failure(request({ port: portOf(server), path: '/?ms=5000' }));
		await arrivals(1);
		const report = await proc.shutdown();
		expect(['ECONNRESET', 'CUT']).toContain(await cut);
		expect(report.outcome).toBe('failed');
		await expect(wait()).rejects.toMatchObject({ name: 'DrainTimeoutError', requests: 1 });
	});
});

describe('while the server runs, drain() only keeps track (white box)', () => {
	it('knows which connections are busy, and lets go of a response once it has finished', async () => {
		const { registerDrain } = await import('../../src/http/drain.js');
		const { resolveDrainOptions } = await import('../../src/http/options.js');
		const server = await listening();
		const { drainer } = registerDrain(server, resolveDrainOptions({ proc: isolatedProc() }));
		const agent = keepAliveAgent();
		cleanup.push(() => agent.destroy());
		const slow = request({ port: portOf(server), path: '/?ms=300', agent });
		await arrivals(1);
		expect(drainer.snapshot()).toMatchObject({ phase: 'watching', connections: 1, busy: 1, idle: 0 });
		await slow;
		// The response has finished by the time the client has all of it.
		expect(drainer.snapshot()).toMatchObject({ phase: 'watching', connections: 1, busy: 0, idle: 1 });
	});
});
