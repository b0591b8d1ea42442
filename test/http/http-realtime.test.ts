// drainSignal() and drain({ spread }) in-process: real http and ws clients on 127.0.0.1, an isolated proc on a fake
// process (graceful-proc/testing). The child-process tests with a real SIGTERM are in http-realtime-sigterm.test.ts.
import { getEventListeners, once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type express from 'express';
import type Koa from 'koa';
import type { Socket as SocketIoSocket } from 'socket.io';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createProc, proc as processWideProc } from '../../src/index.js';
import { type DrainOptions, drain, drainSignal } from '../../src/http/index.js';
import { registerDrain } from '../../src/http/drain.js';
import { followingCount } from '../../src/http/drain-signal.js';
import { resolveDrainOptions } from '../../src/http/options.js';
import { DEFAULT_SPREAD, spreadWindow } from '../../src/http/spread.js';
import { createFakeProcess } from '../../src/testing.js';
import type { Proc } from '../../src/types.js';
import { testCertificate } from '../helpers/http-harness.js';
import { openSse, openWs } from '../helpers/realtime-clients.js';
import { listenOnLoopback } from '../helpers/loopback.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
	for (const fn of cleanup.splice(0)) fn();
});

function isolatedProc(): Proc {
	return createProc({ process: createFakeProcess(), exit: false, logger: false });
}

/** When each stream's signal aborted (performance.now()), in order. */
interface Service {
	server: http.Server;
	port: number;
	aborts: number[];
	/** Signals handed out, by request, to check identity. */
	signals: AbortSignal[];
	/** For each SSE stream reached: whether asking again, once aborted, gave the same signal. */
	askedAgain: boolean[];
}

/**
 * What a user writes: an SSE endpoint and a ws server that end their streams when the drain reaches them.
 * `ignore`: handlers that never listen, to see the deadline destroy them.
 */
async function service({ ignore = false } = {}): Promise<Service> {
	const aborts: number[] = [];
	const signals: AbortSignal[] = [];
	const askedAgain: boolean[] = [];
	const server = http.createServer((req, res) => {
		if (req.url === '/plain') return void res.end('plain\n');
		res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
		res.write('data: hello\n\n');
		const signal = drainSignal(req);
		signals.push(signal);
		if (ignore) return;
		signal.addEventListener('abort', () => {
			aborts.push(performance.now());
			askedAgain.push(drainSignal(req) === signal);
			res.end('event: bye\ndata: reconnect\n\n');
		});
	});
	const wss = new WebSocketServer({ server });
	wss.on('connection', (ws, req) => {
		const signal = drainSignal(req);
		signals.push(signal);
		ws.send('hello');
		if (ignore) return;
		signal.addEventListener('abort', () => {
			aborts.push(performance.now());
			ws.close(1001, 'going away');
		});
	});
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	cleanup.push(() => {
		wss.close();
		server.closeAllConnections();
		server.close();
	});
	return { server, port: (server.address() as AddressInfo).port, aborts, signals, askedAgain };
}

describe('drainSignal(req) aborts when the drain reaches the request’s connection', () => {
	it('SSE streams end with their last event and WebSockets close with 1001; the report is clean', async () => {
		const proc = isolatedProc();
		const { server, port, signals, askedAgain } = await service();
		const wait = drain(server, { proc, spread: 300 });
		const sse = await Promise.all([openSse(port), openSse(port)]);
		const ws = await Promise.all([openWs(port), openWs(port)]);
		expect(signals.map((s) => s.aborted)).toEqual([false, false, false, false]);
		const report = await proc.shutdown('test');
		expect(report.outcome).toBe('clean');
		await expect(wait()).resolves.toBeUndefined();
		expect(askedAgain).toEqual([true, true]);
		for (const client of sse) expect(await client.ended).toMatchObject({ clean: true, events: ['message', 'bye'] });
		for (const client of ws) expect(await client.closed).toMatchObject({ code: 1001, reason: 'going away' });
		expect(signals.every((s) => s.aborted)).toBe(true);
		expect((signals[0]!.reason as DOMException).name).toBe('AbortError');
		expect(server.listening).toBe(false);
	});

	it('is the same signal when asked twice for the same request, and a request’s own for each request', async () => {
		const proc = isolatedProc();
		let pair: AbortSignal[] = [];
		const server = http.createServer((req, res) => {
			pair = [drainSignal(req), drainSignal(req)];
			res.end();
		});
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		cleanup.push(() => server.close());
		drain(server, { proc });
		await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`).then((r) => r.text());
		expect(pair[0]).toBe(pair[1]);
	});

	it('asked during the delay, it is reached in the spread; asked once the spread has passed the connection, it is already aborted', async () => {
		const proc = isolatedProc();
		const { server, port, signals } = await service();
		const wait = drain(server, { proc, delay: 200, spread: 0 });
		const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
		cleanup.push(() => agent.destroy());
		// One stream before the shutdown, one during the delay, on a connection it keeps afterwards.
		const before = await openSse(port);
		void proc.shutdown();
		const during = await openSse(port, '/events', agent);
		expect(signals.map((s) => s.aborted)).toEqual([false, false]);
		expect(await during.ended).toMatchObject({ clean: true, events: ['message', 'bye'] });
		expect(await before.ended).toMatchObject({ clean: true, events: ['message', 'bye'] });
		// The server no longer accepts, but the kept connection still carries a request: the drain is past it.
		const after = await openSse(port, '/events', agent);
		expect(signals[2]!.aborted).toBe(true);
		expect(await after.ended).toMatchObject({ clean: true, events: ['message', 'bye'] });
		await wait();
	});
});

describe('drainSignal(req) follows the response, not the request body', () => {
	it('a POST long poll whose body was read still hears the drain (node closes the request when its body is read)', async () => {
		const proc = isolatedProc();
		let asked = 0;
		const server = http.createServer((req, res) => {
			let body = '';
			req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
			req.on('end', () => {
				// The request has closed by now; the poll is still waiting.
				setImmediate(() => {
					asked += 1;
					drainSignal(req).addEventListener('abort', () => res.end(`bye ${body}`));
				});
			});
		});
		const port = await listenOnLoopback(server, cleanup);
		const { drainer } = registerDrain(server, resolveDrainOptions({ proc, spread: 0 }));
		const answer = fetch(`http://127.0.0.1:${port}/poll`, { method: 'POST', body: 'since=42' }).then((r) => r.text());
		while (asked === 0) await new Promise((resolve) => setTimeout(resolve, 5));
		expect(drainer.snapshot().signals).toBe(1);
		const report = await proc.shutdown('test');
		expect(await answer).toBe('bye since=42');
		expect(report.outcome).toBe('clean');
	});

	it('HTTP/2 (compatibility API): an SSE stream ends with its last event', async () => {
		const proc = isolatedProc();
		const server = http2.createServer((req, res) => {
			res.writeHead(200, { 'content-type': 'text/event-stream' });
			res.write('data: hello\n\n');
			drainSignal(req).addEventListener('abort', () => res.end('event: bye\ndata: reconnect\n\n'));
		});
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		cleanup.push(() => server.close());
		const wait = drain(server, { proc, spread: 0 });
		const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
		cleanup.push(() => client.destroy());
		const stream = client.request({ ':path': '/events' });
		let body = '';
		stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
		await once(stream, 'response');
		while (!body.includes('hello')) await new Promise((resolve) => setTimeout(resolve, 5));
		const ended = once(stream, 'end');
		const report = await proc.shutdown('test');
		await ended;
		expect(body).toBe('data: hello\n\nevent: bye\ndata: reconnect\n\n');
		expect(report.outcome).toBe('clean');
		await wait();
	});
});

describe('drainSignal(req) over TLS: https and wss', () => {
	const certificate = testCertificate();
	it.skipIf(certificate === null)('a wss WebSocket closes with 1001 and an https SSE stream ends with its last event', async () => {
		const { readFileSync } = await import('node:fs');
		const proc = isolatedProc();
		const server = https.createServer({ key: readFileSync(certificate!.key), cert: readFileSync(certificate!.cert) }, (req, res) => {
			res.writeHead(200, { 'content-type': 'text/event-stream' });
			res.write('data: hello\n\n');
			drainSignal(req).addEventListener('abort', () => res.end('event: bye\ndata: reconnect\n\n'));
		});
		new WebSocketServer({ server }).on('connection', (ws, req) => {
			ws.send('hello');
			drainSignal(req).addEventListener('abort', () => ws.close(1001, 'going away'));
		});
		const port = await listenOnLoopback(server, cleanup);
		drain(server, { proc, spread: 200 });
		const ws = new WebSocket(`wss://127.0.0.1:${port}`, { ca: certificate!.ca });
		const wsClosed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
		await once(ws, 'message');
		let body = '';
		const sseEnded = new Promise<boolean>((resolve, reject) => {
			https
				.get({ host: '127.0.0.1', port, path: '/events', ca: certificate!.ca, agent: false }, (res) => {
					res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
					res.on('end', () => resolve(res.complete));
				})
				.on('error', reject);
		});
		while (!body.includes('hello')) await new Promise((resolve) => setTimeout(resolve, 5));
		const report = await proc.shutdown('test');
		expect(await wsClosed).toBe(1001);
		expect(await sseEnded).toBe(true);
		expect(body).toMatch(/event: bye/);
		expect(report.outcome).toBe('clean');
	});
});

describe('drain({ spread }) spreads the aborts evenly over the window after the delay', () => {
	it('the i-th of n is reached no earlier than i × spread / n, and the drain ends once the last has closed', async () => {
		const proc = isolatedProc();
		const { server, port, aborts } = await service();
		const spread = 800;
		const count = 8;
		const wait = drain(server, { proc, spread });
		const clients = [];
		for (let i = 0; i < count / 2; i++) clients.push(openSse(port), openWs(port));
		const opened = await Promise.all(clients);
		const startedAt = performance.now();
		const report = await proc.shutdown('test');
		const doneAt = performance.now();
		expect(report.outcome).toBe('clean');
		await wait();
		expect(aborts).toHaveLength(count);
		for (let i = 0; i < count; i++) {
			// Timers never fire early (a 2 ms allowance for the two clocks); late is what a loaded machine does.
			expect(aborts[i]! - startedAt).toBeGreaterThanOrEqual((i * spread) / count - 2);
		}
		// Spread, not at once: the last one a share before the end of the window.
		expect(aborts[count - 1]! - aborts[0]!).toBeGreaterThanOrEqual(((count - 1) * spread) / count - 4);
		// Honest margin for a loaded machine: the drain ends after the last close, well before the deadline.
		expect(doneAt - startedAt).toBeLessThan(spread + 2000);
		for (const client of opened) {
			if ('ended' in client) expect((await client.ended).clean).toBe(true);
			else expect((await client.closed).code).toBe(1001);
		}
	});

	it('streams whose clients leave before their turn do not hold the drain: it ends when the last connection is gone', async () => {
		const proc = isolatedProc();
		const { server, port, aborts } = await service();
		const wait = drain(server, { proc, spread: 20_000 });
		const first = await openSse(port);
		const second = await openWs(port);
		const shutdown = proc.shutdown('test');
		// The first stream is reached at once; the second would wait 10 s, but its client leaves.
		await first.ended;
		second.socket.close(1000);
		const startedAt = performance.now();
		expect((await shutdown).outcome).toBe('clean');
		await wait();
		expect(aborts).toHaveLength(1);
		expect(performance.now() - startedAt).toBeLessThan(5000);
	});

	it('spread: 0 reaches every stream at once', async () => {
		const proc = isolatedProc();
		const { server, port, aborts } = await service();
		drain(server, { proc, spread: 0 });
		await Promise.all([openSse(port), openWs(port), openSse(port)]);
		// At once: all in the turn of the event loop of the first. (The time between them measured only the machine:
		// 64 ms once beside two CPU hogs, for three calls in one loop.)
		let inFirstTurn: number | undefined;
		const record = aborts.push.bind(aborts);
		aborts.push = (...times: number[]) => {
			if (aborts.length === 0) setImmediate(() => (inFirstTurn = aborts.length));
			return record(...times);
		};
		await proc.shutdown();
		expect(aborts).toHaveLength(3);
		expect(inFirstTurn).toBe(3);
	});

	it('a deadline earlier than the spread squeezes the window to end before it (1 s, or a quarter of the time left)', () => {
		expect(spreadWindow(10_000, 60_000)).toBe(10_000);
		expect(spreadWindow(10_000, 8000)).toBe(7000);
		expect(spreadWindow(10_000, 2000)).toBe(1500);
		expect(spreadWindow(10_000, 0)).toBe(0);
		expect(spreadWindow(0, 8000)).toBe(0);
	});
});

describe('the deadline still destroys what is left', () => {
	it('streams that ignore their signal are cut at `timeout`; an SSE response cut is a request cut', async () => {
		const proc = isolatedProc();
		const { server, port, signals } = await service({ ignore: true });
		const wait = drain(server, { proc, spread: 100, timeout: 400 });
		const sse = await openSse(port);
		const ws = await openWs(port);
		const report = await proc.shutdown('test');
		expect(signals.every((s) => s.aborted)).toBe(true);
		expect((await sse.ended).clean).toBe(false);
		expect((await ws.closed).code).toBe(1006);
		expect(report.listeners[0]).toMatchObject({ outcome: 'error', error: expect.objectContaining({ name: 'DrainTimeoutError' }) });
		await expect(wait()).rejects.toThrow(/1 request was still running/);
	});
});

describe('drainSignal() holds nothing for a connection that is gone', () => {
	it('a thousand SSE streams and WebSockets come and go: no signal, connection or socket is kept', async () => {
		const proc = isolatedProc();
		const { server, port } = await service();
		const { drainer } = registerDrain(server, resolveDrainOptions({ proc }));
		// 1,000 streams, 50 at a time.
		for (let round = 0; round < 20; round++) {
			const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? openSse(port) : openWs(port))));
			expect(drainer.snapshot().signals).toBe(50);
			for (const client of clients) {
				if ('close' in client) client.close();
				else client.socket.terminate();
			}
			await Promise.all(clients.map((client) => ('ended' in client ? client.ended : client.closed)));
		}
		// The server sees each close a moment after the client.
		const deadline = Date.now() + 5000;
		while (Date.now() < deadline && (drainer.snapshot().signals > 0 || drainer.snapshot().connections + drainer.snapshot().handedOff > 0)) {
			await new Promise((resolve) => setTimeout(resolve, 10));
		}
		expect(drainer.snapshot()).toMatchObject({ signals: 0, connections: 0, handedOff: 0 });
		await proc.shutdown();
	});

	it('a long poll that asks on every request of one keep-alive connection holds one signal at a time', async () => {
		const proc = isolatedProc();
		const server = http.createServer((req, res) => {
			drainSignal(req).addEventListener('abort', () => res.end('bye'));
			setTimeout(() => res.end('poll'), 2);
		});
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		cleanup.push(() => server.close());
		const { drainer } = registerDrain(server, resolveDrainOptions({ proc }));
		const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
		cleanup.push(() => agent.destroy());
		const port = (server.address() as AddressInfo).port;
		for (let i = 0; i < 200; i++) {
			await new Promise<void>((resolve, reject) => {
				http.get({ host: '127.0.0.1', port, agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
			});
			expect(drainer.snapshot().signals).toBeLessThanOrEqual(1);
		}
		expect(drainer.snapshot()).toMatchObject({ connections: 1, signals: 0 });
		await proc.shutdown();
	});

	it('nothing at all for requests that never ask', async () => {
		const proc = isolatedProc();
		const { server, port } = await service();
		const { drainer } = registerDrain(server, resolveDrainOptions({ proc }));
		await fetch(`http://127.0.0.1:${port}/plain`).then((r) => r.text());
		expect(drainer.snapshot().signals).toBe(0);
		await proc.shutdown();
	});
});

describe('drainSignal() on a server that drain() does not drain', () => {
	it('follows the shutdown of the process-wide proc, with one listener for every stream, each held until its connection goes', async () => {
		const { port, signals } = await service();
		const before = getEventListeners(processWideProc.signal, 'abort').length;
		const held = followingCount();
		const clients = await Promise.all([openSse(port), openWs(port), openSse(port)]);
		expect(getEventListeners(processWideProc.signal, 'abort').length).toBeLessThanOrEqual(before + 1);
		expect(followingCount()).toBe(held + 3);
		expect(signals.map((s) => s.aborted)).toEqual([false, false, false]);
		for (const client of clients) {
			if ('close' in client) client.close();
			else client.socket.terminate();
		}
		const deadline = Date.now() + 5000;
		while (Date.now() < deadline && followingCount() > held) {
			await new Promise((resolve) => setTimeout(resolve, 10));
		}
		expect(followingCount()).toBe(held);
	});

});

describe('a request that is over gets a signal that never aborts', () => {
	it('asked after its response has finished', async () => {
		const proc = isolatedProc();
		let late: AbortSignal | undefined;
		const server = http.createServer((req, res) => {
			res.end('done');
			res.on('close', () => {
				late = drainSignal(req);
			});
		});
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		cleanup.push(() => server.close());
		const { drainer } = registerDrain(server, resolveDrainOptions({ proc }));
		await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`).then((r) => r.text());
		while (late === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
		expect(drainer.snapshot().signals).toBe(0);
		await proc.shutdown();
		expect(late.aborted).toBe(false);
	});
});

describe('drain() reserves the spread’s time, so that default times never cut it', () => {
	it('a spread the user set is reserved at once: unset times grow to delay + spread + 1 s', async () => {
		const proc = isolatedProc();
		const { server } = await service();
		const wait = drain(server, { proc, delay: 2000, spread: 15_000 });
		expect(proc.timeToWrapUp).toBeGreaterThanOrEqual(2000 + 15_000 + 1000);
		expect(proc.timeToForceQuit).toBeGreaterThan(proc.timeToWrapUp);
		wait.remove();
		expect(proc.timeToWrapUp).toBe(1000);
	});

	it('the default spread only once a stream has asked for its signal', async () => {
		const proc = isolatedProc();
		const { server, port } = await service();
		drain(server, { proc, delay: 2000 });
		const before = proc.timeToWrapUp;
		expect(before).toBeLessThan(2000 + DEFAULT_SPREAD);
		await openWs(port);
		expect(proc.timeToWrapUp).toBeGreaterThanOrEqual(2000 + DEFAULT_SPREAD + 1000);
		await proc.shutdown();
	});

	it('a timeToWrapUp the user set that cannot hold the spread is reported when drain() is called', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false, timeToWrapUp: 3000, timeToForceQuit: 30_000 });
		const { server } = await service();
		const warnings: string[] = [];
		const onWarning = (warning: Error) => warnings.push(warning.message);
		process.on('warning', onWarning);
		cleanup.push(() => process.off('warning', onWarning));
		drain(server, { proc, spread: 5000 });
		const recorded = [...warnings, ...((fake as unknown as { warnings?: Array<{ message: string } | string> }).warnings ?? []).map((w) => (typeof w === 'string' ? w : w.message))];
		expect(recorded.join('\n')).toMatch(/timeToWrapUp is 3000 ms, but the wrap-up listener `http 127\.0\.0\.1:\d+` may take 6000 ms/);
		await proc.shutdown();
	});
});

describe('the types', () => {
	it('drainSignal() takes the requests of node, Express, Koa, ws and socket.io, and returns an AbortSignal', () => {
		expectTypeOf(drainSignal).returns.toEqualTypeOf<AbortSignal>();
		expectTypeOf<http.IncomingMessage>().toMatchTypeOf<Parameters<typeof drainSignal>[0]>();
		expectTypeOf<http2.Http2ServerRequest>().toMatchTypeOf<Parameters<typeof drainSignal>[0]>();
		expectTypeOf<express.Request>().toMatchTypeOf<Parameters<typeof drainSignal>[0]>();
		expectTypeOf<Koa.Context['req']>().toMatchTypeOf<Parameters<typeof drainSignal>[0]>();
		expectTypeOf<SocketIoSocket['request']>().toMatchTypeOf<Parameters<typeof drainSignal>[0]>();
		expectTypeOf<DrainOptions['spread']>().toEqualTypeOf<number | undefined>();
	});
});

describe('bad input', () => {
	const notRequests: Array<[string, unknown, string]> = [
		['undefined', undefined, '`undefined` (undefined)'],
		['null', null, '`null` (null)'],
		['a string', '/events', '`"/events"` (string)'],
		['a plain object (a Koa ctx, say)', { req: {} }, '`[Object]` (object)'],
		['a response', new http.ServerResponse(new http.IncomingMessage(null as never)), '`[ServerResponse]` (object)'],
		['a client’s response (an IncomingMessage without a method)', new http.IncomingMessage(null as never), '`[IncomingMessage]` (object)'],
	];
	it.each(notRequests)('drainSignal(%s): TypeError naming `req` and the value', (_what, value, shown) => {
		expect(() => drainSignal(value as never)).toThrow(TypeError);
		expect(() => drainSignal(value as never)).toThrow(
			`Expected \`req\` to be a server request (the \`req\` of a request handler, of an 'upgrade' listener or of ws's 'connection'; Koa's \`ctx.req\`), got ${shown}`,
		);
	});

	const badSpreads: Array<[unknown, ErrorConstructor, string]> = [
		[-1, RangeError, 'Expected `options.spread` to be a finite number >= 0, got `-1` (number)'],
		[Number.NaN, RangeError, 'Expected `options.spread` to be a finite number >= 0, got `NaN` (number)'],
		[Number.POSITIVE_INFINITY, RangeError, 'Expected `options.spread` to be a finite number >= 0, got `Infinity` (number)'],
		[2 ** 31, RangeError, 'Expected `options.spread` to be a finite number <= 2147483647 (the longest a timer can wait), got `2147483648` (number)'],
		['10s', TypeError, 'Expected `options.spread` to be a finite number >= 0, got `"10s"` (string)'],
		[null, TypeError, 'Expected `options.spread` to be a finite number >= 0, got `null` (null)'],
	];
	it.each(badSpreads)('drain(server, { spread: %o }): refused, nothing registered', async (spread, type, message) => {
		const proc = isolatedProc();
		const { server } = await service();
		const before = ['request', 'connection', 'upgrade'].map((event) => server.listenerCount(event));
		expect(() => drain(server, { proc, spread: spread as never })).toThrow(type);
		expect(() => drain(server, { proc, spread: spread as never })).toThrow(message);
		expect(['request', 'connection', 'upgrade'].map((event) => server.listenerCount(event))).toEqual(before);
		expect(proc.timeToWrapUp).toBe(1000);
		expect((await proc.shutdown()).listeners).toEqual([]);
	});
});
