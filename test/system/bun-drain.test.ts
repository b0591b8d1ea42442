// drain() and serve() under Bun (issue 11): a fixture server runs under the `bun` binary of the dev
// dependencies, gets a real SIGTERM under keep-alive load, and must lose nothing and exit 0. Skipped only when
// the binary is absent. What differs under Bun is in docs/http.md ("Bun").
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { runLoad, summarize } from '../../bench/http/load.js';
import type net from 'node:net';
import { type Factory, keepAliveAgent, request, startServer } from '../helpers/http-harness.js';

const bun = fileURLToPath(new URL('../../node_modules/.bin/bun', import.meta.url));
const hasBun = existsSync(bun);

const MAX_MS = 200;
const MARGIN = 1500;

describe.runIf(hasBun)('under Bun, a SIGTERM under keep-alive load loses no request and exits 0', () => {
	it.for<Factory>(['http', 'express', 'serve-express', 'serve-koa'])('%s', async (factory, { expect }) => {
		const server = await startServer({ factory, drain: { idleGrace: 1000 }, keepAliveTimeout: 30_000 }, { executable: bun });
		const { requests, triggerAt, origin } = await runLoad({
			port: server.port,
			protocol: 'http',
			loops: 12,
			sockets: 8,
			minMs: 20,
			maxMs: MAX_MS,
			thinkMs: 20,
			warmupMs: 600,
			// The SIGTERM once the load is real however slow the machine is: see WARMUP_ANSWERED in http-load.test.ts.
			warmupAnswered: 24,
			trigger: () => server.sigterm(),
			until: server.exited,
		}).catch((error: unknown) => {
			server.child.kill('SIGKILL');
			throw error;
		});
		const exit = await server.exited;
		const { report, seen } = await server.report();
		const summary = summarize(requests, new Set(seen));
		const context = `${JSON.stringify(summary)}\nstderr: ${server.stderr()}`;
		expect(requests.filter((r) => r.outcome === 'lost'), context).toEqual([]);
		expect(summary.acceptedNotAnswered, context).toBe(0);
		expect(summary.answered, context).toBeGreaterThan(20);
		// In flight at the SIGTERM: answered with `Connection: close`; after the stop: refused.
		expect(requests.filter((r) => r.close && r.outcome === 'answered').length, context).toBeGreaterThan(0);
		expect(summary.refused, context).toBeGreaterThan(0);
		expect([exit.code, exit.signal], context).toEqual([0, null]);
		expect(report.outcome, context).toBe('clean');
		expect(exit.at - (origin + triggerAt!), context).toBeLessThan(2 * MAX_MS + 1000 + MARGIN);
	});

	it('a slow request in flight at the SIGTERM is answered, with `Connection: close`, and the process exits right after', async ({ expect }) => {
		const server = await startServer({ factory: 'serve-express', announce: true, drain: { idleGrace: 5000 }, keepAliveTimeout: 60_000 }, { executable: bun });
		const answer = request({ port: server.port, path: '/slow?ms=800&id=slow' });
		await server.waitFor((line) => line.event === 'request' && line.id === 'slow');
		server.sigterm();
		const { status, body, headers, at } = await answer;
		expect([status, body, headers.connection]).toEqual([200, 'slow\n', 'close']);
		const exit = await server.exited;
		expect([exit.code, exit.signal], server.stderr()).toEqual([0, null]);
		expect(exit.at - at).toBeLessThan(MARGIN);
		expect((await server.report()).report.outcome).toBe('clean');
	});

	it('a keep-alive connection idle when the server stops accepting is kept for idleGrace: a request on it is served, with `Connection: close`', async ({ expect }) => {
		// Bun's close() closes the connections idle at that instant: drain() calls it only once none is.
		const server = await startServer({ factory: 'serve-express', announce: true, drain: { idleGrace: 3000 }, keepAliveTimeout: 60_000 }, { executable: bun });
		const agent = keepAliveAgent();
		const sockets: net.Socket[] = [];
		const onSocket = (socket: net.Socket) => sockets.push(socket);
		await request({ port: server.port, path: '/?id=first', agent, onSocket });
		server.sigterm();
		await server.waitFor((line) => line.event === 'wrap-up');
		await new Promise((resolve) => setTimeout(resolve, 300));
		const second = await request({ port: server.port, path: '/?id=second', agent, onSocket });
		expect(sockets).toHaveLength(2);
		expect(sockets[1]).toBe(sockets[0]);
		expect([second.status, second.body, second.headers.connection]).toEqual([200, 'second\n', 'close']);
		const exit = await server.exited;
		expect([exit.code, exit.signal], server.stderr()).toEqual([0, null]);
		agent.destroy();
	});
});
