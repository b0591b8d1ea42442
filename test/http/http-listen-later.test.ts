// drain() takes a server whether or not it listens yet (issue 9): `drain(app.listen(port, host))` works, a
// server that never listens drains at once, and what is not a server is still refused. In-process, real sockets.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { drain } from '../../src/http/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { request } from '../helpers/http-harness.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
	for (const fn of cleanup.splice(0)) fn();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isolatedProc = () => createProc({ process: createFakeProcess(), exit: false, logger: false });

function closeLater(server: http.Server) {
	cleanup.push(() => {
		server.closeAllConnections();
		server.close();
	});
}

describe('drain(app.listen(port, host)): listen() with a host binds on a later tick', () => {
	it.each(['express', 'koa'] as const)('%s: drains once it listens, named after its address, and answers the request in flight', async (kind) => {
		const proc = isolatedProc();
		let arrived = 0;
		const server =
			kind === 'express'
				? express()
						.get('/', (_req, res) => {
							arrived += 1;
							setTimeout(() => res.send('express\n'), 300);
						})
						.listen(0, '127.0.0.1')
				: new Koa()
						.use(async (ctx) => {
							arrived += 1;
							await sleep(300);
							ctx.body = 'koa\n';
						})
						.listen(0, '127.0.0.1');
		closeLater(server);
		expect(server.listening).toBe(false);
		const wait = drain(server, { proc });
		await once(server, 'listening');
		const port = (server.address() as AddressInfo).port;
		expect(wait.listenerName).toBe(`http 127.0.0.1:${port}`);
		const inFlight = request({ port, path: '/' });
		while (arrived === 0) await sleep(2);
		const report = await proc.shutdown();
		const answer = await inFlight;
		expect([answer.status, answer.body, answer.headers.connection]).toEqual([200, `${kind}\n`, 'close']);
		expect(report.outcome).toBe('clean');
		expect(report.listeners).toEqual([expect.objectContaining({ name: `http 127.0.0.1:${port}`, outcome: 'ok' })]);
		await expect(wait()).resolves.toBeUndefined();
		expect(server.listening).toBe(false);
	});

	it('a wait() called before the server listens settles with the drain', async () => {
		const proc = isolatedProc();
		const server = http.createServer((_req, res) => setTimeout(() => res.end('ok'), 200)).listen(0, '127.0.0.1');
		closeLater(server);
		const wait = drain(server, { proc });
		let drained = false;
		const waiting = wait().then(() => (drained = true));
		await once(server, 'listening');
		const inFlight = request({ port: (server.address() as AddressInfo).port, path: '/' });
		await sleep(50);
		const shutdown = proc.shutdown();
		await sleep(20);
		expect(drained).toBe(false);
		await inFlight;
		await waiting;
		expect((await shutdown).outcome).toBe('clean');
	});

	it('one drain per server, also while it does not listen yet', async () => {
		const proc = isolatedProc();
		const server = http.createServer().listen(0, '127.0.0.1');
		closeLater(server);
		drain(server, { proc });
		expect(() => drain(server, { proc })).toThrow(/drained once/);
		await once(server, 'listening');
		expect(() => drain(server, { proc })).toThrow(/drained once/);
		expect((await proc.shutdown()).listeners).toHaveLength(1);
	});

	it('remove() before it listens undoes it: nothing is registered, and it can be drained again', async () => {
		const proc = isolatedProc();
		const server = http.createServer().listen(0, '127.0.0.1');
		closeLater(server);
		const wait = drain(server, { proc });
		expect(wait.remove()).toBe(true);
		expect(wait.remove()).toBe(false);
		await once(server, 'listening');
		expect((await proc.shutdown()).listeners).toEqual([]);
		expect(server.listening).toBe(true);
		drain(server, { proc: isolatedProc() }).remove();
	});
});

describe('a server that never listens', () => {
	it('drains at once: the shutdown does not wait for it, and its wait() resolves', async () => {
		const proc = isolatedProc();
		const server = http.createServer();
		const wait = drain(server, { proc });
		const started = performance.now();
		const report = await proc.shutdown();
		expect(report.outcome).toBe('clean');
		expect(performance.now() - started).toBeLessThan(500);
		await expect(wait()).resolves.toBeUndefined();
	});

	it('and one that starts listening after the shutdown started is closed at once, serving nothing', async () => {
		const proc = isolatedProc();
		const server = http.createServer((_req, res) => res.end('late'));
		closeLater(server);
		drain(server, { proc });
		await proc.shutdown();
		const closed = once(server, 'close');
		let listened = false;
		server.once('listening', () => (listened = true));
		server.listen(0, '127.0.0.1');
		await closed;
		expect(listened).toBe(true);
		expect(server.listening).toBe(false);
	});
});
