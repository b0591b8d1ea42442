// drain() against real servers in child processes that get a real SIGTERM: one suite, parameterised by the
// server factory (node http, https, http2 with HTTP/1 fallback, Express 5, Koa 3, and serve()).
import { once } from 'node:events';
import type http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'vitest';
import { ACCEPT_QUEUE_MS } from '../../src/http/stop-listening.js';
import { failure, type Factory, keepAliveAgent, request, startServer, testCertificate } from '../helpers/http-harness.js';

const tlsAvailable = testCertificate() !== null;
const factories: Factory[] = ['http', 'express', 'koa', 'serve-handler', 'serve-express', 'serve-koa'];
if (tlsAvailable) factories.push('https', 'http2');
const protocolOf = (factory: Factory) => (factory === 'https' || factory === 'http2' ? 'https' : 'http');

/** Generous for a loaded 2-core machine, and still far below the keep-alive timeouts the tests set. */
const MARGIN = 1000;

describe('an idle keep-alive connection is closed after `idleGrace`, and the process exits then, not a keep-alive timeout later', () => {
	it.concurrent.for(factories)('%s', async (factory, { expect }) => {
		const protocol = protocolOf(factory);
		const server = await startServer({ factory, drain: { idleGrace: 400 }, keepAliveTimeout: 60_000 });
		const agent = keepAliveAgent(protocol);
		let socket: net.Socket | undefined;
		await request({ port: server.port, path: '/?id=first', protocol, agent, onSocket: (s) => (socket = s) });
		const closed = once(socket!, 'close').then(() => performance.now());
		server.sigterm();
		const exit = await server.exited;
		expect([exit.code, exit.signal]).toEqual([0, null]);
		const closedAt = (await closed) - server.sigtermAt!;
		// Not reset at once: a pooled client had 400 ms to use it.
		expect(closedAt).toBeGreaterThanOrEqual(350);
		expect(exit.at - server.sigtermAt!).toBeLessThan(400 + MARGIN);
		agent.destroy();
	});
});

describe('a request in flight is answered, with `Connection: close`, and the process exits once it is written', () => {
	it.concurrent.for(factories)('%s', async (factory, { expect }) => {
		const protocol = protocolOf(factory);
		const server = await startServer({ factory, announce: true, drain: { idleGrace: 5000 }, keepAliveTimeout: 60_000 });
		const agent = keepAliveAgent(protocol);
		const answer = request({ port: server.port, path: '/slow?ms=600&id=slow', protocol, agent });
		await server.waitFor((line) => line.event === 'request' && line.id === 'slow');
		server.sigterm();
		const { status, headers, body, at } = await answer;
		expect([status, body, headers.connection]).toEqual([200, 'slow\n', 'close']);
		const exit = await server.exited;
		expect([exit.code, exit.signal]).toEqual([0, null]);
		// The connection closed with the response: no idleGrace (5 s) and no keep-alive timeout (60 s) after it.
		expect(exit.at - at).toBeLessThan(MARGIN);
		const { report } = await server.report();
		expect(report.outcome).toBe('clean');
		agent.destroy();
	});
});

describe('a request that arrives on an idle keep-alive connection during the drain is served, with `Connection: close`', () => {
	it.concurrent.for(factories)('%s', async (factory, { expect }) => {
		const protocol = protocolOf(factory);
		const server = await startServer({ factory, announce: true, drain: { idleGrace: 5000 }, keepAliveTimeout: 60_000 });
		const agent = keepAliveAgent(protocol);
		const sockets: net.Socket[] = [];
		const onSocket = (s: net.Socket) => sockets.push(s);
		// One request keeps the drain going; the other connection is idle when the shutdown starts.
		const busy = request({ port: server.port, path: '/slow?ms=1500&id=busy', protocol, agent: keepAliveAgent(protocol) });
		await request({ port: server.port, path: '/?id=first', protocol, agent, onSocket });
		await server.waitFor((line) => line.event === 'request' && line.id === 'busy');
		server.sigterm();
		await server.waitFor((line) => line.event === 'not-listening');
		const second = await request({ port: server.port, path: '/slow?ms=100&id=second', protocol, agent, onSocket });
		expect(sockets).toHaveLength(2);
		expect(sockets[1]).toBe(sockets[0]);
		expect([second.status, second.body, second.headers.connection]).toEqual([200, 'second\n', 'close']);
		expect((await busy).headers.connection).toBe('close');
		const exit = await server.exited;
		expect([exit.code, exit.signal]).toEqual([0, null]);
		agent.destroy();
	});
});

describe('new connections are refused once the server stops accepting', () => {
	it.concurrent.for(factories)('%s', async (factory, { expect }) => {
		const protocol = protocolOf(factory);
		const server = await startServer({ factory, announce: true });
		const busy = request({ port: server.port, path: '/slow?ms=1200&id=busy', protocol });
		await server.waitFor((line) => line.event === 'request' && line.id === 'busy');
		server.sigterm();
		const wrapUp = await server.waitFor((line) => line.event === 'wrap-up');
		// The listening socket closes once a turn of the event loop took none of the connections the kernel queued.
		const stopped = await server.waitFor((line) => line.event === 'not-listening');
		expect(stopped.at - wrapUp.at).toBeLessThan(ACCEPT_QUEUE_MS + MARGIN);
		expect(await failure(request({ port: server.port, path: '/?id=late', protocol }))).toBe('ECONNREFUSED');
		expect((await busy).status).toBe(200);
		expect((await server.exited).code).toBe(0);
		expect(server.lines.some((line) => line.id === 'late')).toBe(false);
	});
});

describe('connections the kernel queued while the event loop was busy are answered when the server stops accepting, not reset', () => {
	it.concurrent.for(factories)('%s', async (factory, { expect }) => {
		const protocol = protocolOf(factory);
		const server = await startServer({ factory, announce: true });
		const unblock = join(mkdtempSync(join(tmpdir(), 'gp-queue-')), 'unblock');
		// The server's loop is blocked until the file exists; SIGTERM and new connections arrive meanwhile.
		const blocking = request({ port: server.port, path: `/block?until=${encodeURIComponent(unblock)}&id=blocking`, protocol });
		await server.waitFor((line) => line.event === 'request' && line.id === 'blocking');
		server.sigterm();
		const connected: Array<Promise<unknown>> = [];
		const agents: http.Agent[] = [];
		const queued = Array.from({ length: 6 }, (_, i) => {
			let socketOf!: (socket: net.Socket) => void;
			connected.push(new Promise<net.Socket>((resolve) => (socketOf = resolve)).then((socket) => once(socket, 'connect')));
			// Keep-alive clients, one connection each, as a proxy's pool. The kernel completes the TCP handshake by
			// itself: the request (for https, the TLS hello) goes out while the loop is blocked, and the connection
			// waits in the listen queue.
			const agent = keepAliveAgent(protocol);
			agents.push(agent);
			return request({ port: server.port, path: `/?id=queued${i}`, protocol, agent, onSocket: socketOf }).then(
				(answer) => [String(answer.status), answer.headers.connection],
				(error: { code?: string }) => [error.code ?? String(error)],
			);
		});
		await Promise.all(connected);
		writeFileSync(unblock, '');
		expect((await blocking).status).toBe(200);
		const answers = await Promise.all(queued);
		expect(answers.map(([status]) => status)).toEqual(Array(6).fill('200'));
		// Node takes one queued connection per turn of its loop, and answers the first ones while it takes the rest:
		// with keep-alive, since until the listening socket closes `Connection: close` would only make a proxy open
		// new connections, for the close to reset. (Over TLS the handshakes take longer than the queue.)
		if (protocol === 'http') expect(answers.filter(([, connection]) => connection === 'keep-alive').length).toBeGreaterThan(0);
		expect((await server.exited).code).toBe(0);
		for (const agent of agents) agent.destroy();
		rmSync(dirname(unblock), { recursive: true, force: true });
	});
});

describe('with `delay`, the server goes on serving new connections for that long, then stops accepting', () => {
	it.concurrent.for(factories)('%s', async (factory, { expect }) => {
		const protocol = protocolOf(factory);
		const server = await startServer({ factory, drain: { delay: 1000 } });
		server.sigterm();
		await server.waitFor((line) => line.event === 'wrap-up');
		// Served with keep-alive: a `Connection: close` during the delay would make clients open new connections,
		// which the stop could then reset in the listen backlog.
		const agent = keepAliveAgent(protocol);
		const during = await request({ port: server.port, path: '/?id=during', protocol, agent });
		expect([during.status, during.headers.connection]).toEqual([200, 'keep-alive']);
		const exit = await server.exited;
		expect([exit.code, exit.signal]).toEqual([0, null]);
		expect(exit.at - server.sigtermAt!).toBeGreaterThanOrEqual(950);
		expect(exit.at - server.sigtermAt!).toBeLessThan(1000 + MARGIN);
		expect(await failure(request({ port: server.port, path: '/?id=after', protocol }))).toBe('ECONNREFUSED');
	});
});

describe('a response that began before the shutdown finishes; its connection then closes after `idleGrace`', () => {
	it.concurrent.for(factories)('%s', async (factory, { expect }) => {
		const protocol = protocolOf(factory);
		const server = await startServer({ factory, announce: true, drain: { idleGrace: 400 }, keepAliveTimeout: 60_000 });
		const agent = keepAliveAgent(protocol);
		let socket: net.Socket | undefined;
		const streamed = request({ port: server.port, path: '/stream?ms=600&id=streamed', protocol, agent, onSocket: (s) => (socket = s) });
		await server.waitFor((line) => line.event === 'request' && line.id === 'streamed');
		// Let the headers go out (keep-alive) before the shutdown starts.
		await new Promise((resolve) => setTimeout(resolve, 100));
		server.sigterm();
		const answer = await streamed;
		expect([answer.status, answer.body]).toEqual([200, 'streamed done\n']);
		const closedAt = await once(socket!, 'close').then(() => performance.now());
		expect(closedAt - answer.at).toBeGreaterThanOrEqual(300);
		const exit = await server.exited;
		expect([exit.code, exit.signal]).toEqual([0, null]);
		expect(exit.at - answer.at).toBeLessThan(400 + MARGIN);
		agent.destroy();
	});
});

describe('a request slower than the force-quit deadline is cut at the deadline, and the process still exits on time', () => {
	it.concurrent.for(factories)('%s', async (factory, { expect }) => {
		const protocol = protocolOf(factory);
		const server = await startServer({ factory, announce: true, timeToForceQuit: 800 });
		const slow = failure(request({ port: server.port, path: '/slow?ms=20000&id=slow', protocol }));
		await server.waitFor((line) => line.event === 'request' && line.id === 'slow');
		server.sigterm();
		expect(['ECONNRESET', 'CUT']).toContain(await slow);
		const exit = await server.exited;
		expect([exit.code, exit.signal]).toEqual([1, null]);
		expect(exit.at - server.sigtermAt!).toBeGreaterThanOrEqual(750);
		expect(exit.at - server.sigtermAt!).toBeLessThan(800 + MARGIN);
		const { report } = await server.report();
		expect(report.outcome).toBe('forced');
	});
});

describe('a request slower than `timeout` is cut then, and the drain fails with DrainTimeoutError', () => {
	it.concurrent.for(factories)('%s', async (factory, { expect }) => {
		const protocol = protocolOf(factory);
		const server = await startServer({ factory, announce: true, timeToForceQuit: 10_000, drain: { timeout: 600 } });
		const slow = failure(request({ port: server.port, path: '/slow?ms=20000&id=slow', protocol }));
		await server.waitFor((line) => line.event === 'request' && line.id === 'slow');
		server.sigterm();
		expect(['ECONNRESET', 'CUT']).toContain(await slow);
		const exit = await server.exited;
		expect([exit.code, exit.signal]).toEqual([1, null]);
		expect(exit.at - server.sigtermAt!).toBeLessThan(600 + MARGIN);
		const { report } = await server.report();
		expect(report.outcome).toBe('failed');
		const drainListener = report.listeners.find((l: { name: string }) => l.name !== 'announce');
		expect(drainListener.outcome).toBe('error');
		expect(drainListener.error.name).toBe('DrainTimeoutError');
		expect(drainListener.error.message).toMatch(/1 request was still running \d+ ms into the shutdown and was cut/);
	});
});
