// Several servers in one process (the app, its metrics, its admin) each drain, concurrently, on one SIGTERM.
import { describe, expect, it } from 'vitest';
import { request, startServer } from '../helpers/http-harness.js';

describe('several servers in one process each drain, concurrently, on one SIGTERM', () => {
	it('every request in flight is answered, and the process exits after the slowest, not the sum', async () => {
		const server = await startServer({ servers: ['express', 'koa', 'http'], announce: true, drain: { idleGrace: 5000 } });
		expect(server.ports).toHaveLength(3);
		const answers = server.ports.map((port, index) => request({ port, path: `/slow?ms=700&id=s${index}` }));
		for (const id of ['s0', 's1', 's2']) await server.waitFor((line) => line.event === 'request' && line.id === id);
		server.sigterm();
		for (const answer of await Promise.all(answers)) expect([answer.status, answer.headers.connection]).toEqual([200, 'close']);
		const exit = await server.exited;
		expect([exit.code, exit.signal]).toEqual([0, null]);
		expect(exit.at - server.sigtermAt!).toBeLessThan(700 + 1000);
		const { report } = await server.report();
		expect(report.outcome).toBe('clean');
		const drains = report.listeners.filter((l: { name: string }) => l.name !== 'announce');
		expect(drains.map((l: { name: string; outcome: string }) => [l.name, l.outcome])).toEqual(
			server.ports.map((port) => [`http 127.0.0.1:${port}`, 'ok']),
		);
		// Concurrently: each took about as long as its own request, and they overlapped.
		for (const listener of drains) expect(listener.durationMs).toBeGreaterThanOrEqual(500);
	});
});
