// The health ticker under Deno 2, on this checkout's build: its node handler mounted in a node:http app that serve()
// drains, and its fetch handler on Deno.serve (test/fixtures/deno-health-server.mjs). A real SIGTERM: readiness
// fails at once on both while the app still serves for the whole `delay`, then the process exits 0. Skipped only
// when the binary is absent.
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { fixture, reportOf } from '../helpers/child.js';
import { denoMissing, SERVICE_FLAGS, startDeno } from '../helpers/deno.js';
import { keepAliveAgent, request } from '../helpers/http-harness.js';

const DELAY = 3000;

async function get(base: string, path: string, agent?: import('node:http').Agent) {
	const answer = await request({ port: Number(new URL(base).port), path, agent });
	return { status: answer.status, body: answer.body, at: answer.at };
}

describe.skipIf(denoMissing !== '')(`the health ticker under Deno${denoMissing ? ` (skipped: ${denoMissing})` : ''}`, () => {
	it('a real SIGTERM: /readyz answers 503 at once (node handler and Deno.serve), the app serves through the delay, then exit 0', async () => {
		const child = startDeno(fixture('deno-health-server.mjs'), [String(DELAY)], SERVICE_FLAGS);
		const [, app, probes] = (await child.waitFor(/^ready (\S+) (\S+)$/)) as RegExpMatchArray;
		const agent = keepAliveAgent();
		for (const base of [app!, probes!]) expect((await get(base, '/readyz')).status).toBe(200);
		expect(await get(app!, '/', agent)).toMatchObject({ status: 200, body: 'hello' });

		const sentAt = performance.now();
		child.process.kill('SIGTERM');
		await child.waitFor(/^wrap-up$/);
		const notReady = { status: 'fail', reason: 'shutting down' };
		const during = [
			await get(app!, '/readyz'),
			await get(probes!, '/readyz'),
			await get(probes!, '/livez'),
			// The app itself still serves, on the connection it already had and on a new one.
			await get(app!, '/', agent),
			await get(app!, '/'),
		];
		const probeBody = (body: string) => (body.startsWith('{') ? JSON.parse(body) : body);
		expect(during.map(({ status, body }) => [status, probeBody(body)])).toEqual([
			[503, notReady],
			[503, notReady],
			[200, { status: 'ok' }],
			[200, 'hello'],
			[200, 'hello'],
		]);
		// All of it inside the delay, which the process then waits out.
		expect(Math.max(...during.map((answer) => answer.at)) - sentAt).toBeLessThan(DELAY);
		expect(await child.closed, child.stderr()).toEqual([0, null]);
		expect(child.closedAt() - (performance.timeOrigin + sentAt)).toBeGreaterThanOrEqual(DELAY);
		agent.destroy();
		const report = reportOf(child);
		expect(report).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });
		expect(report.listeners.map((l: { name: string; phase: string; outcome: string }) => [l.name, l.phase, l.outcome])).toEqual(
			expect.arrayContaining([
				['health', 'shutdown', 'ok'],
				['probes', 'shutdown', 'ok'],
				['announce', 'wrap-up', 'ok'],
			]),
		);
		expect(report.listeners.find((l: { phase: string; name: string }) => l.phase === 'wrap-up' && l.name.startsWith('http')).durationMs).toBeGreaterThanOrEqual(DELAY - 50);
		expect(child.stderr()).toBe('');
	});
});
