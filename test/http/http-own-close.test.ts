// An application that keeps its own `server.close()` next to drain() (in a wrap-up or a shutdown listener) stops
// clean: the server is still drained, and the application's close() is answered when the server has closed,
// instead of failing with ERR_SERVER_NOT_RUNNING because the drain closed the listening socket first.
import { once } from 'node:events';
import type net from 'node:net';
import { describe, it } from 'vitest';
import { keepAliveAgent, request } from '../helpers/http-harness.js';
import { fixture, reportOf, startNode } from '../helpers/child.js';

describe("an Express app's own server.close() beside drain() does not fail the shutdown, and the server is still drained", () => {
	it.concurrent.for(['wrap-up', 'wrap-up-first', 'shutdown'])('its close() in a %s listener', async (where, { expect }) => {
		const child = startNode(fixture('express-own-close.mjs'), [where]);
		const port = Number((await child.waitFor(/^ready (\d+)$/))[1]);
		// One keep-alive connection idle at the SIGTERM, one with a request in flight.
		const idleAgent = keepAliveAgent();
		let idleSocket: net.Socket | undefined;
		await request({ port, path: '/?id=first', agent: idleAgent, onSocket: (socket) => (idleSocket = socket) });
		const idleClosed = once(idleSocket!, 'close');
		const busyAgent = keepAliveAgent();
		const slow = request({ port, path: '/?id=slow&ms=600', agent: busyAgent });
		await child.waitFor(/^request slow$/);
		child.process.kill('SIGTERM');

		const answer = await slow;
		expect([answer.status, answer.body, answer.headers.connection]).toEqual([200, 'slow\n', 'close']);
		await idleClosed;
		const exit = await child.closed;
		const report = reportOf(child);
		expect(report.listeners.map((l: { name: string; outcome: string; error?: unknown }) => [l.name, l.outcome, l.error])).toEqual(
			expect.arrayContaining([
				['own close', 'ok', undefined],
				[expect.stringMatching(/^http /), 'ok', undefined],
			]),
		);
		expect([report.outcome, ...exit]).toEqual(['clean', 0, null]);
		idleAgent.destroy();
		busyAgent.destroy();
	});
});
