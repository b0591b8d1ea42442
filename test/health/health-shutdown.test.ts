import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc, type ShutdownReport } from '../../src/index.js';
import { createHealthTicker, type HealthStatus } from '../../src/health/index.js';
import { drain } from '../../src/http/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { tickerJar } from '../helpers/health.js';

const jar = tickerJar();

afterEach(async () => {
	await jar.stopAll();
});

function get(url: string): Promise<{ status: number; body: string }> {
	return new Promise((resolve, reject) => {
		const req = httpRequest(url, { agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
		});
		req.setTimeout(5000, () => req.destroy(new Error(`no answer from ${url}`)));
		req.on('error', reject);
		req.end();
	});
}

function setUp() {
	const fake = createFakeProcess();
	const reports: ShutdownReport[] = [];
	const proc = createProc({ process: fake, exit: true, logger: false, timeToForceQuit: 10_000, onReport: (r) => reports.push(r) });
	const counter = { calls: 0 };
	const ticker = jar.track(createHealthTicker({ checks: { db: () => void counter.calls++ }, interval: 50, proc }));
	return { fake, proc, ticker, counter, reports };
}

describe('shutdown turns readiness false at its very start, keeps liveness, and stops the ticker at the end', () => {
	it('is not ready from the moment the signal arrives, before any wrap-up listener runs, and stays live', async () => {
		const { fake, proc, ticker, counter } = setUp();
		await ticker.check();
		const { url } = await ticker.listen(0, '127.0.0.1');
		expect(ticker.status()).toMatchObject({ started: true, live: true, ready: true });

		const seenByWrapUp: HealthStatus[] = [];
		let endDrain!: () => void;
		proc.addWrapUpListener(
			() => {
				seenByWrapUp.push(ticker.status());
				return new Promise<void>((resolve) => (endDrain = resolve));
			},
			{ name: 'drain-like' },
		);
		const changes: Array<Pick<HealthStatus, 'live' | 'ready'>> = [];
		ticker.onChange(({ live, ready }) => changes.push({ live, ready }));

		fake.kill('SIGTERM');
		expect(ticker.status()).toMatchObject({ started: true, live: true, ready: false });
		expect(seenByWrapUp).toHaveLength(1);
		expect(seenByWrapUp[0]).toMatchObject({ live: true, ready: false });
		expect(changes).toEqual([{ live: true, ready: false }]);

		// While the wrap-up phase runs (drain's delay), probes answer and the checks go on.
		const readyz = await get(`${url}/readyz`);
		expect(readyz.status).toBe(503);
		expect(JSON.parse(readyz.body)).toEqual({ status: 'fail', reason: 'shutting down' });
		expect((await get(`${url}/livez`)).status).toBe(200);
		expect((await get(`${url}/healthz`)).status).toBe(200);
		const before = counter.calls;
		await sleep(200);
		expect(counter.calls).toBeGreaterThan(before);
		expect(ticker.status().ready).toBe(false);

		endDrain();
		expect(await fake.exited).toBe(0);
		// Stopped: no more rounds, and its probe server is closed.
		const after = counter.calls;
		await sleep(200);
		expect(counter.calls).toBe(after);
		await expect(get(`${url}/livez`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
	});

	it('stops in the shutdown phase, as a listener named "health" in the report', async () => {
		const { fake, ticker, reports } = setUp();
		await ticker.check();
		fake.kill('SIGTERM');
		expect(await fake.exited).toBe(0);
		expect(reports[0]?.listeners).toEqual([expect.objectContaining({ name: 'health', phase: 'shutdown', outcome: 'ok' })]);
	});

	it('turns ready false with proc.shutdown() as with a signal', async () => {
		const { proc, ticker } = setUp();
		await ticker.check();
		const done = proc.shutdown('deploy');
		expect(ticker.status().ready).toBe(false);
		expect((await done).outcome).toBe('clean');
	});

	it('is never ready when created after shutdown has started', async () => {
		const { proc } = setUp();
		let release!: () => void;
		proc.addWrapUpListener(() => new Promise<void>((resolve) => (release = resolve)));
		const done = proc.shutdown();
		const late = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 50, proc }));
		await late.check();
		expect(late.status()).toMatchObject({ started: true, live: true, ready: false });
		release();
		await done;
	});

	it('flips readiness before the drain delay of graceful-proc/http, while the server still serves', async () => {
		const { fake, proc, ticker } = setUp();
		await ticker.check();
		const app = express();
		app.use('/health', ticker.handler);
		app.get('/work', (_req, res) => {
			res.send('done');
		});
		const server = app.listen(0, '127.0.0.1');
		await new Promise((resolve) => server.once('listening', resolve));
		const address = server.address() as { port: number };
		const base = `http://127.0.0.1:${address.port}`;
		drain(server, { delay: 400, proc });

		fake.kill('SIGTERM');
		const readyz = await get(`${base}/health/readyz`);
		expect(readyz.status).toBe(503);
		expect(JSON.parse(readyz.body).reason).toBe('shutting down');
		expect((await get(`${base}/health/livez`)).status).toBe(200);
		expect((await get(`${base}/work`)).body).toBe('done');
		expect(await fake.exited).toBe(0);
		expect(server.listening).toBe(false);
	});
});

describe('the ticker registers with its proc when created and lets go when stopped', () => {
	it('installs the proc\'s signal handlers on creation (so SIGTERM starts the sequence), and removes them on stop()', async () => {
		const { fake, ticker } = setUp();
		expect(fake.listenedEvents()).toEqual(expect.arrayContaining(['SIGTERM', 'SIGINT']));
		await ticker.stop();
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('with proc: false, registers nothing and ignores every shutdown', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false });
		const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 50, proc: false }));
		await ticker.check();
		expect(fake.listenedEvents()).toEqual([]);
		await proc.shutdown();
		expect(ticker.status().ready).toBe(true);
	});
});
