import { afterEach, describe, expect, it } from 'vitest';
import { createHealthTicker, type HealthStatus, type HealthTicker } from '../../src/health/index.js';
import { tickerJar } from '../helpers/health.js';

const jar = tickerJar();

afterEach(async () => {
	await jar.stopAll();
});

function blockEventLoop(ms: number): void {
	const end = performance.now() + ms;
	while (performance.now() < end) {
		// A synchronous hog: nothing else runs, as with a runaway loop in a request handler.
	}
}

function nextChange(ticker: HealthTicker, predicate: (status: HealthStatus) => boolean, ms = 5000): Promise<HealthStatus> {
	// Already so (a loaded machine can stall on its own): nothing to wait for.
	if (predicate(ticker.status())) return Promise.resolve(ticker.status());
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no matching change within ${ms} ms`)), ms);
		const off = ticker.onChange((status) => {
			if (!predicate(status)) return;
			clearTimeout(timer);
			off();
			resolve(status);
		});
	});
}

describe('liveness turns false when the event loop is stalled beyond maxEventLoopDelay', () => {
	it('reports the stall on /livez and /healthz, leaves readiness to the checks, and recovers after one quiet interval', async () => {
		const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 300, maxEventLoopDelay: 150, proc: false }));
		await ticker.check();
		const stalled = nextChange(ticker, (status) => !status.live);
		blockEventLoop(600);
		const status = await stalled;
		expect(status).toMatchObject({ started: true, live: false, ready: true });
		const { server, url } = await ticker.listen(0, '127.0.0.1');
		try {
			const livez = await fetch(`${url}/livez`);
			expect(livez.status).toBe(503);
			const body = (await livez.json()) as { reason: string };
			const shown = Number(/^event loop stalled (\d+) ms$/.exec(body.reason)?.[1]);
			expect(shown).toBeGreaterThan(150);
			expect(shown).toBeLessThan(5000);
			expect((await fetch(`${url}/healthz`)).status).toBe(503);
			expect((await fetch(`${url}/readyz`)).status).toBe(200);
			const recovered = await nextChange(ticker, (s) => s.live);
			expect(recovered.live).toBe(true);
			expect((await fetch(`${url}/livez`)).status).toBe(200);
		} finally {
			server.closeAllConnections();
		}
	});

	it('stays live through the same stall when maxEventLoopDelay is false', async () => {
		const watched = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 300, maxEventLoopDelay: 150, proc: false }));
		const unwatched = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 300, maxEventLoopDelay: false, proc: false }));
		await Promise.all([watched.check(), unwatched.check()]);
		const changes: HealthStatus[] = [];
		unwatched.onChange((status) => changes.push(status));
		const stalled = nextChange(watched, (status) => !status.live);
		blockEventLoop(600);
		await stalled;
		expect(unwatched.status().live).toBe(true);
		expect(changes).toEqual([]);
	});
});
