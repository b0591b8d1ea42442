// Pipelined HTTP/1.1 requests during the drain, in-process with real sockets: no request is handed to a
// handler without its response being written, and a connection closes right after the last response it owes.
import { once } from 'node:events';
import http from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { drain } from '../../src/http/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { type Factory, startServer } from '../helpers/http-harness.js';
import { rawClient } from '../helpers/raw-client.js';
import { listenOnLoopback } from '../helpers/loopback.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
	for (const fn of cleanup.splice(0)) fn();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isolatedProc = () => createProc({ process: createFakeProcess(), exit: false, logger: false });

/**
 * What a request does, from its path: `/slow…` answers after 300 ms, `/async…` after 30 ms, anything else at
 * once, from inside the handler (the response is complete before node reads the next pipelined request).
 */
function delayOf(path: string): number | undefined {
	if (path.startsWith('/slow')) return 300;
	if (path.startsWith('/async')) return 30;
	return undefined;
}

type Kind = 'node' | 'express';

async function start(kind: Kind) {
	const ran: string[] = [];
	const answer = (path: string, send: () => void) => {
		ran.push(path);
		const ms = delayOf(path);
		if (ms === undefined) send();
		else setTimeout(send, ms);
	};
	let listener: http.RequestListener;
	if (kind === 'express') {
		const app = express();
		app.use((req, res) => answer(req.path, () => res.send(`${req.path}\n`)));
		listener = app;
	} else {
		listener = (req, res) => {
			req.resume();
			answer(req.url!, () => res.end(`${req.url}\n`));
		};
	}
	const server = http.createServer(listener);
	return { server, ran, port: await listenOnLoopback(server, cleanup) };
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const post = (path: string, body: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

describe.each<Kind>(['node', 'express'])('pipelined requests on an idle keep-alive connection during the drain (%s)', (kind) => {
	it('a request read behind a response that already said `Connection: close` never reaches a handler; every one that ran is answered', async () => {
		// Issue 15: /fast2 answers from inside its handler, so its `Connection: close` is fixed before node reads
		// /charge3; the connection ends after /fast2, and /charge3 used to run with no answer (a retry charges twice).
		const proc = isolatedProc();
		const { server, ran, port } = await start(kind);
		drain(server, { proc });
		const client = await rawClient(port, cleanup);
		client.socket.write(get('/warm'));
		await client.waitFor('/warm\n');
		const shutdown = proc.shutdown();
		await sleep(20);
		client.socket.write(get('/slow1') + get('/fast2') + post('/charge3', 'amount=10'));
		await client.closed;
		const report = await shutdown;
		const answered = client.responses().map((r) => r.path);
		expect(answered).toEqual(['/warm', '/slow1', '/fast2']);
		// Nothing ran that was not answered: /charge3 was held back, and its client can retry it elsewhere.
		expect(ran.filter((path) => !answered.includes(path))).toEqual([]);
		expect(ran).toEqual(['/warm', '/slow1', '/fast2']);
		expect(client.responses().map((r) => r.close)).toEqual([false, false, true]);
		expect(report.outcome).toBe('clean');
	});

	it('when no response is complete before the next request is read, all are answered and the last one closes the connection', async () => {
		const proc = isolatedProc();
		const { server, ran, port } = await start(kind);
		drain(server, { proc, idleGrace: 5000 });
		const client = await rawClient(port, cleanup);
		client.socket.write(get('/warm'));
		await client.waitFor('/warm\n');
		const started = performance.now();
		const shutdown = proc.shutdown();
		await sleep(20);
		client.socket.write(get('/slow1') + get('/async2') + post('/async3', 'amount=10'));
		const closedAt = await client.closed;
		expect(client.responses().map((r) => [r.path, r.close])).toEqual([
			['/warm', false],
			['/slow1', false],
			['/async2', false],
			['/async3', true],
		]);
		expect(ran).toEqual(['/warm', '/slow1', '/async2', '/async3']);
		expect((await shutdown).outcome).toBe('clean');
		// Closed with the last response, not after idleGrace (5 s).
		expect(closedAt - started).toBeLessThan(2000);
	});
});

describe('pipelined responses that have not started when the drain begins', () => {
	it('are all answered; the last one says `Connection: close` and the connection ends with it', async () => {
		// Issue 15, item 13: the docs say responses that have not started get `Connection: close`.
		const proc = isolatedProc();
		const { server, ran, port } = await start('node');
		drain(server, { proc, idleGrace: 5000 });
		const client = await rawClient(port, cleanup);
		client.socket.write(get('/slow1') + get('/async2'));
		while (ran.length < 2) await sleep(2);
		const started = performance.now();
		const report = proc.shutdown();
		const closedAt = await client.closed;
		// The first keeps the connection open for the second, which closes it: neither is cut.
		expect(client.responses().map((r) => [r.path, r.close])).toEqual([
			['/slow1', false],
			['/async2', true],
		]);
		expect((await report).outcome).toBe('clean');
		expect(closedAt - started).toBeLessThan(2000);
	});

	it('one whose headers were fixed before the drain (answered at once, queued behind a slower one) is still written; its connection then closes as idle', async () => {
		const proc = isolatedProc();
		const { server, ran, port } = await start('node');
		drain(server, { proc, idleGrace: 300 });
		const client = await rawClient(port, cleanup);
		client.socket.write(get('/slow1') + get('/fast2'));
		while (ran.length < 2) await sleep(2);
		const report = await proc.shutdown();
		await client.closed;
		expect(client.responses().map((r) => r.path)).toEqual(['/slow1', '/fast2']);
		expect(report.outcome).toBe('clean');
	});
});

describe('pipelined requests cut at the deadline', () => {
	it('are each counted in the DrainTimeoutError, not once per connection', async () => {
		const proc = isolatedProc();
		const ran: string[] = [];
		const server = http.createServer((req) => {
			ran.push(req.url!);
			req.resume();
		});
		const port = await listenOnLoopback(server, cleanup);
		const wait = drain(server, { proc, timeout: 300 });
		const client = await rawClient(port, cleanup);
		client.socket.write(get('/never1') + get('/never2'));
		while (ran.length < 2) await sleep(2);
		const report = await proc.shutdown();
		expect(report.outcome).toBe('failed');
		await expect(wait()).rejects.toMatchObject({ name: 'DrainTimeoutError', requests: 2 });
	});
});

describe('the same under a real SIGTERM, in a child process (issue 15)', () => {
	it.for<Factory>(['http', 'express'])('%s: the request held back never runs, every one that ran is answered, exit 0', async (factory, { expect }) => {
		const server = await startServer({ factory, announce: true });
		const client = await rawClient(server.port, cleanup);
		client.socket.write(get('/?id=warm'));
		await client.waitFor('warm\n');
		server.sigterm();
		await server.waitFor((line) => line.event === 'not-listening');
		await sleep(20);
		client.socket.write(get('/slow?ms=300&id=slow1') + get('/sync?id=fast2') + post('/sync?id=charge3', 'amount=10'));
		await client.closed;
		const exit = await server.exited;
		const { report, seen } = await server.report();
		const answered: string[] = client.received().match(/^(warm|slow1|fast2|charge3)$/gm) ?? [];
		expect(answered).toEqual(['warm', 'slow1', 'fast2']);
		expect(seen.filter((id) => !answered.includes(id))).toEqual([]);
		expect([exit.code, exit.signal]).toEqual([0, null]);
		expect(report.outcome).toBe('clean');
	});
});
