import { describe, expect, it } from 'vitest';
import { runLoad, summarize } from '../../bench/http/load.js';
import { fixture, reportOf, startNode } from '../helpers/child.js';

// docs/http.md's Fastify recipe with the real Fastify 5: drain(fastify.server), and fastify.close() from a
// shutdown listener. Load as in test/http/http-load.test.ts (bench/http/load.js classifies every request), with 16
// keep-alive clients.
describe('Fastify 5 with the recipe', () => {
	it('under keep-alive load a SIGTERM loses no request, answers every request Fastify read, and runs the onClose hooks', async () => {
		const child = startNode(fixture('fastify-server.mjs'));
		const port = Number((await child.waitFor(/^ready (\d+)$/))[1]);
		const closed = child.closed.then(() => undefined);
		const { requests } = await runLoad({
			port,
			loops: 16,
			sockets: 16,
			minMs: 20,
			maxMs: 200,
			thinkMs: 20,
			streamShare: 0.2,
			warmupMs: 600,
			// The SIGTERM once the load is real however slow the machine is (two requests per connection, every
			// connection served): see WARMUP_ANSWERED in http-load.test.ts.
			warmupAnswered: 32,
			trigger: () => child.process.kill('SIGTERM'),
			until: closed,
		}).catch((error: unknown) => {
			child.process.kill('SIGKILL');
			throw error;
		});
		expect(await child.closed).toEqual([0, null]);
		const seen = new Set((child.stdout.find((l) => l.startsWith('seen ')) ?? 'seen ').slice('seen '.length).split(','));
		const summary = summarize(requests, seen);
		expect(requests.filter((r: { outcome: string }) => r.outcome === 'lost'), JSON.stringify(summary)).toEqual([]);
		expect(summary.acceptedNotAnswered).toBe(0);
		expect(summary.answered).toBeGreaterThan(20);
		expect(reportOf(child)).toMatchObject({
			outcome: 'clean',
			exitCode: 0,
			listeners: [
				{ phase: 'wrap-up', outcome: 'ok' },
				{ name: 'fastify', phase: 'shutdown', outcome: 'ok' },
			],
		});
		// The plugin's hook and the app's, each once.
		expect(child.stdout).toContain('onClose pool,app');
	});
});
