// drain() and serve() of node:http servers under Deno 2: a fixture server (test/fixtures/http-server.mjs) runs under
// the `deno` dev dependency's binary with the flags a service needs (--allow-net, --allow-env), gets a real SIGTERM
// under keep-alive load, and must lose nothing and exit 0. Skipped only when the binary is absent. What differs
// under Deno is in docs/runtimes.md ("Deno").
import type net from 'node:net';
import { dirname } from 'node:path';
import { describe, it } from 'vitest';
import { runLoad, summarize } from '../../bench/http/load.js';
import { deno, denoMissing, SERVICE_FLAGS } from '../helpers/deno.js';
import { type ChildConfig, type Factory, keepAliveAgent, request, startServer, testCertificate } from '../helpers/http-harness.js';

const MAX_MS = 200;
const MARGIN = 1500;

const certificate = testCertificate();
const cases: Array<[Factory, 'http' | 'https' | 'h2']> = [
	['http', 'http'],
	['express', 'http'],
	['serve-express', 'http'],
	['serve-koa', 'http'],
	['serve-handler', 'http'],
];
// TLS: the server reads its certificate and key, which takes --allow-read for their folder.
if (certificate) cases.push(['https', 'https'], ['http2', 'h2'], ['http2', 'https']);

const startDenoServer = (config: ChildConfig) => {
	const tls = config.factory === 'https' || config.factory === 'http2';
	const flags = tls ? [...SERVICE_FLAGS, `--allow-read=${dirname(certificate!.cert)}`] : SERVICE_FLAGS;
	return startServer(config, { executable: deno!, args: ['run', ...flags] });
};

describe.skipIf(denoMissing !== '')(`under Deno, a SIGTERM under keep-alive load loses no request and exits 0${denoMissing ? ` (skipped: ${denoMissing})` : ''}`, () => {
	it.for(cases)('%s (%s)', async ([factory, protocol], { expect }) => {
		const server = await startDenoServer({ factory, drain: { idleGrace: 1000 }, keepAliveTimeout: 30_000 });
		const { requests, triggerAt, origin } = await runLoad({
			port: server.port,
			protocol,
			ca: certificate?.ca,
			loops: 12,
			sockets: 8,
			minMs: 20,
			maxMs: MAX_MS,
			thinkMs: 20,
			// Enough answers before the SIGTERM for the counts below to mean something, on a loaded machine too: 600 ms
			// gave about 30 on an idle one and as few as 9 beside the other Deno tests; 1,500 ms gives about 100 (TLS,
			// whose handshakes are slower under Deno, about 40: it gets longer).
			warmupMs: protocol === 'http' ? 1500 : 2500,
			trigger: () => server.sigterm(),
			until: server.exited,
		});
		const exit = await server.exited;
		const { report, seen } = await server.report();
		const summary = summarize(requests, new Set(seen));
		const context = `${JSON.stringify(summary)}\nstderr: ${server.stderr()}`;
		// Every request answered, or refused before it was sent (a client may retry those anywhere): none lost.
		expect(requests.filter((r) => r.outcome === 'lost'), context).toEqual([]);
		expect(summary.acceptedNotAnswered, context).toBe(0);
		expect(summary.answered, context).toBeGreaterThan(20);
		// In flight at the SIGTERM: answered with `Connection: close` (HTTP/2: on a session that got a GOAWAY); after the stop: refused.
		expect(requests.filter((r) => r.close && r.outcome === 'answered').length, context).toBeGreaterThan(0);
		expect(summary.refused, context).toBeGreaterThan(0);
		expect([exit.code, exit.signal], context).toEqual([0, null]);
		expect(report.outcome, context).toBe('clean');
		expect(exit.at - (origin + triggerAt!), context).toBeLessThan(2 * MAX_MS + 1000 + MARGIN);
		expect(server.stderr(), context).toBe('');
	});

	it('a slow request in flight at the SIGTERM is answered, with `Connection: close`, before the shutdown listeners run; the process exits right after', async ({ expect }) => {
		const server = await startDenoServer({ factory: 'serve-express', announce: true, hooks: true, drain: { idleGrace: 5000 }, keepAliveTimeout: 60_000 });
		const answer = request({ port: server.port, path: '/slow?ms=800&id=slow' });
		await server.waitFor((line) => line.event === 'request' && line.id === 'slow');
		server.sigterm();
		const { status, body, headers, at } = await answer;
		expect([status, body, headers.connection]).toEqual([200, 'slow\n', 'close']);
		const exit = await server.exited;
		expect([exit.code, exit.signal], server.stderr()).toEqual([0, null]);
		expect(exit.at - at).toBeLessThan(MARGIN);
		expect((await server.report()).report.outcome).toBe('clean');
		// The pool closes after the last response, never under it.
		const order = server.lines.map((line) => (line.event === 'finished' ? `finished ${line.id}` : line.event)).filter((e) => e === 'finished slow' || e === 'shutdown-hook');
		expect(order).toEqual(['finished slow', 'shutdown-hook']);
	});

	it('a keep-alive connection idle when the server stops accepting is kept for idleGrace: a request on it is served, with `Connection: close`', async ({ expect }) => {
		const server = await startDenoServer({ factory: 'serve-express', announce: true, drain: { idleGrace: 3000 }, keepAliveTimeout: 60_000 });
		const agent = keepAliveAgent();
		const sockets: net.Socket[] = [];
		const onSocket = (socket: net.Socket) => sockets.push(socket);
		await request({ port: server.port, path: '/?id=first', agent, onSocket });
		server.sigterm();
		await server.waitFor((line) => line.event === 'not-listening');
		const second = await request({ port: server.port, path: '/?id=second', agent, onSocket });
		expect(sockets).toHaveLength(2);
		expect(sockets[1]).toBe(sockets[0]);
		expect([second.status, second.body, second.headers.connection]).toEqual([200, 'second\n', 'close']);
		const exit = await server.exited;
		expect([exit.code, exit.signal], server.stderr()).toEqual([0, null]);
		// Closed after the response that said `Connection: close`, long before idleGrace ran out.
		expect(exit.at - second.at).toBeLessThan(MARGIN);
		agent.destroy();
	});

	it('a response whose headers went out before the stop keeps its connection open: the next request on it is answered, with `Connection: close`', async ({ expect }) => {
		// Deno's server closes such a connection the moment the response finishes once it no longer listens: without
		// the drain keeping it, the second request is reset or finds the listener gone.
		const server = await startDenoServer({ factory: 'serve-express', announce: true, drain: { idleGrace: 3000 }, keepAliveTimeout: 60_000 });
		const agent = keepAliveAgent();
		const sockets: net.Socket[] = [];
		const onSocket = (socket: net.Socket) => sockets.push(socket);
		const streamed = request({ port: server.port, path: '/stream?ms=800&id=streamed', agent, onSocket });
		await server.waitFor((line) => line.event === 'request' && line.id === 'streamed');
		server.sigterm();
		await server.waitFor((line) => line.event === 'wrap-up');
		const first = await streamed;
		expect([first.status, first.body, first.headers.connection]).toEqual([200, 'streamed done\n', 'keep-alive']);
		const second = await request({ port: server.port, path: '/?id=second', agent, onSocket });
		expect(sockets).toHaveLength(2);
		expect(sockets[1]).toBe(sockets[0]);
		expect([second.status, second.body, second.headers.connection]).toEqual([200, 'second\n', 'close']);
		const exit = await server.exited;
		expect([exit.code, exit.signal], server.stderr()).toEqual([0, null]);
		agent.destroy();
	});
});
