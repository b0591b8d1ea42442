import { describe, expect, it } from 'vitest';
import { runLoad, summarize } from '../../bench/http/load.js';
import { request } from '../helpers/http-harness.js';
import { fixture, reportOf, startNode } from '../helpers/child.js';

// docs/http.md's Hono recipe with the real Hono on @hono/node-server: drain() of the node server its serve()
// returns, health.fetch for the probes, drainSignal(c.env.incoming) for a stream. Load as in
// test/frameworks/fastify-recipe.test.ts (16 keep-alive clients, handlers of 20 to 200 ms, a fifth of them streams,
// the SIGTERM after 600 ms of it and the load kept on until the process exits), plus a request held in flight across
// the SIGTERM.
describe('Hono on @hono/node-server with the recipe', () => {
	it('under keep-alive load a SIGTERM loses no request, /readyz answers 503 during the delay, and the process exits 0', async () => {
		const delay = 1000;
		const child = startNode(fixture('hono-server.mjs'), [], { env: { DELAY: String(delay) } });
		const port = Number((await child.waitFor(/^ready (\d+)$/))[1]);
		expect((await request({ port, path: '/readyz' })).status).toBe(200);
		const held = request({ port, path: `/slow?ms=${delay + 1200}&id=held` });
		await child.waitFor(/^arrived held$/);
		const closed = child.closed.then(() => undefined);
		const duringDelay = child.waitFor(/^shutting down$/).then(async () => {
			const [ready, live, served] = await Promise.all([
				request({ port, path: '/readyz' }),
				request({ port, path: '/livez' }),
				request({ port, path: '/slow?ms=0&id=during-delay' }),
			]);
			return { ready: ready.status, body: ready.body, live: live.status, served: served.status };
		});
		const { requests, triggerAt } = await runLoad({
			port,
			loops: 16,
			sockets: 16,
			minMs: 20,
			maxMs: 200,
			thinkMs: 20,
			streamShare: 0.2,
			warmupMs: 600,
			trigger: () => child.process.kill('SIGTERM'),
			until: closed,
		});
		expect(await duringDelay).toEqual({ ready: 503, body: '{"status":"fail","reason":"shutting down"}', live: 200, served: 200 });
		const heldAnswer = await held;
		expect([heldAnswer.status, heldAnswer.body, heldAnswer.headers.connection]).toEqual([200, 'ok', 'close']);
		expect(await child.closed, child.stderr()).toEqual([0, null]);
		const seen = new Set((child.stdout.find((l) => l.startsWith('seen ')) ?? 'seen ').slice('seen '.length).split(','));
		const summary = summarize(requests, seen);
		expect(requests.filter((r: { outcome: string }) => r.outcome === 'lost'), JSON.stringify(summary)).toEqual([]);
		expect(summary.acceptedNotAnswered).toBe(0);
		expect(summary.answered).toBeGreaterThan(20);
		// The load went on across the signal: requests sent during the delay were answered, and requests in flight
		// when it came too (streams among them).
		const afterSignal = requests.filter((r: { afterTrigger: boolean; outcome: string }) => r.afterTrigger && r.outcome === 'answered');
		const acrossSignal = requests.filter((r: { afterTrigger: boolean; end: number; outcome: string }) => !r.afterTrigger && r.end > triggerAt! && r.outcome === 'answered');
		expect(afterSignal.length, JSON.stringify(summary)).toBeGreaterThan(5);
		expect(acrossSignal.length, JSON.stringify(summary)).toBeGreaterThan(0);
		expect(reportOf(child)).toMatchObject({ outcome: 'clean', exitCode: 0 });
		expect(child.stderr()).toBe('');
	});

	it('drainSignal(c.env.incoming) reaches the node request: a stream held across SIGTERM ends when the drain reaches it, answered, exit 0', async () => {
		const delay = 300;
		const child = startNode(fixture('hono-server.mjs'), [], { env: { DELAY: String(delay), SPREAD: '0' } });
		const port = Number((await child.waitFor(/^ready (\d+)$/))[1]);
		// A minute long: only its drain signal can end it before the process must be gone.
		const held = request({ port, path: '/stream?ms=60000&id=held-stream' });
		await child.waitFor(/^arrived held-stream$/);
		const signalledAt = performance.now();
		child.process.kill('SIGTERM');
		const answer = await held;
		expect([answer.status, answer.body]).toEqual([200, 'part ended early']);
		// After the delay (the signal aborts once the server stops accepting), and long before the deadline.
		expect(answer.at - signalledAt).toBeGreaterThanOrEqual(delay - 20);
		expect(await child.closed, child.stderr()).toEqual([0, null]);
		expect(reportOf(child)).toMatchObject({ outcome: 'clean', exitCode: 0, listeners: expect.arrayContaining([expect.objectContaining({ phase: 'wrap-up', outcome: 'ok' })]) });
		expect(child.stderr()).toBe('');
	});
});
