// Clients that talk to the server directly (no load balancer: development, an L4 balancer, service to service)
// during a readiness `delay`. Each request is classified by bench/http/load.js: answered, refused before it was
// sent (safe to retry), or lost (sent, then reset). A response that said `Connection: close` during the delay
// made every client open a new connection per request, and a connection still in the listen backlog when the
// server stopped accepting was reset by the kernel after its request had been sent: 0-7 per shutdown, measured.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runLoad, summarize } from '../../bench/http/load.js';
import { createProc } from '../../src/index.js';
import { drain } from '../../src/http/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { startServer } from '../helpers/http-harness.js';

const DELAY = 1000;
const CLIENTS = 16;
/**
 * The SIGTERM comes once this many requests were answered (8 rounds of the 16 clients) and every client's
 * connection has carried one, after 500 ms at least: the shutdown happens under a real load however slow the
 * machine is, and no connection of the warm-up still waits in the listen backlog.
 */
const WARMUP_ANSWERED = 8 * CLIENTS;

async function sigtermUnderLoad() {
	const server = await startServer({ factory: 'express', drain: { delay: DELAY }, timeToWrapUp: 5000, keepAliveTimeout: 30_000 });
	const { requests, triggerAt, origin } = await runLoad({
		port: server.port,
		// One loop per keep-alive socket: 16 clients, each sending its next request shortly after its last answer.
		loops: CLIENTS,
		sockets: CLIENTS,
		minMs: 5,
		maxMs: 50,
		thinkMs: 5,
		warmupMs: 500,
		warmupAnswered: WARMUP_ANSWERED,
		trigger: () => server.sigterm(),
		until: server.exited,
	}).catch((error: unknown) => {
		// A warm-up that never came: the server gets no SIGTERM, and must not outlive the test.
		server.child.kill('SIGKILL');
		throw error;
	});
	const exit = await server.exited;
	const { seen } = await server.report();
	return { requests, summary: summarize(requests, new Set(seen)), exit, sigtermAt: server.sigtermAt!, triggerAt: triggerAt!, origin };
}

describe(`16 keep-alive clients talking to the server directly, delay: ${DELAY}`, () => {
	it('no request is reset after being sent, over three shutdowns at once', async () => {
		// Three servers shut down side by side: with the old behaviour, at least one request was reset in most
		// single shutdowns; three make a false pass unlikely.
		const runs = await Promise.all([sigtermUnderLoad(), sigtermUnderLoad(), sigtermUnderLoad()]);
		for (const { requests, summary, exit, sigtermAt } of runs) {
			const lost = requests.filter((r) => r.outcome === 'lost').map((r) => ({ id: r.id, error: r.error, reused: r.reused, at: Math.round(r.start) }));
			expect(lost, JSON.stringify(summary)).toEqual([]);
			expect(summary.acceptedNotAnswered).toBe(0);
			// The server served through the delay, then stopped accepting: the clients were refused, not reset.
			expect(summary.answered).toBeGreaterThan(100);
			expect(requests.filter((r) => r.afterTrigger && r.outcome === 'answered').length).toBeGreaterThan(0);
			expect(summary.refused).toBeGreaterThan(0);
			expect([exit.code, exit.signal]).toEqual([0, null]);
			expect(exit.at - sigtermAt).toBeGreaterThanOrEqual(DELAY - 50);
		}
	}, 60_000);

	it('keeps their connections alive during the delay: one `Connection: close` per connection, once it stops accepting', async () => {
		const { requests, triggerAt } = await sigtermUnderLoad();
		const afterSigterm = requests.filter((r) => r.start > triggerAt && r.outcome === 'answered');
		// Answered well inside the delay: no `Connection: close`, so no new connection.
		const inDelay = afterSigterm.filter((r) => r.end < triggerAt + DELAY - 200);
		expect(inDelay.length).toBeGreaterThan(50);
		expect(inDelay.filter((r) => r.close)).toEqual([]);
		expect(inDelay.filter((r) => !r.reused)).toEqual([]);
		// Each connection closes after one response that says so, and no more.
		const closing = requests.filter((r) => r.close);
		expect(closing.length).toBeGreaterThan(0);
		expect(closing.length).toBeLessThanOrEqual(CLIENTS);
	}, 30_000);
});

describe('after it stops accepting, an idle keep-alive connection closes only once no request has come in for idleGrace', () => {
	const cleanup: Array<() => void> = [];
	afterEach(() => {
		for (const fn of cleanup.splice(0)) fn();
	});

	async function idleConnections(count: number, idleGrace = 300) {
		const requests: number[] = [];
		const server = http.createServer((req, res) => {
			requests.push(performance.now());
			res.end('ok');
		});
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		const { port } = server.address() as AddressInfo;
		const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
		drain(server, { proc, idleGrace });
		const agents = Array.from({ length: count }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
		cleanup.push(() => {
			for (const agent of agents) agent.destroy();
			server.close();
		});
		const sockets: net.Socket[] = [];
		for (const agent of agents) {
			await new Promise<void>((resolve, reject) => {
				const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
					res.resume();
					res.on('end', resolve);
				});
				req.on('socket', (socket) => sockets.push(socket as net.Socket));
				req.on('error', reject);
			});
		}
		const closedAt = sockets.map((socket) => once(socket, 'close').then(() => performance.now()));
		return { proc, port, agents, closedAt, requests };
	}

	it('with no request after the stop, at idleGrace (the load balancer stopped sending long ago)', async () => {
		const { proc, closedAt } = await idleConnections(2);
		const started = performance.now();
		const report = await proc.shutdown();
		expect(report.outcome).toBe('clean');
		for (const at of await Promise.all(closedAt)) {
			expect(at - started).toBeGreaterThanOrEqual(250);
			expect(at - started).toBeLessThan(300 + 1000);
		}
	});

	it('with a request on another connection meanwhile, idleGrace after that request (a pooling proxy still sends here)', async () => {
		// idleGrace well past the request's 200 ms, so that a loaded machine still sends it before the other two close.
		const idleGrace = 600;
		const { proc, port, agents, closedAt, requests } = await idleConnections(3, idleGrace);
		const started = performance.now();
		const shutdown = proc.shutdown();
		// 200 ms into the drain, a request comes in on the second connection; it is served, with `Connection: close`.
		await new Promise((resolve) => setTimeout(resolve, 200));
		const sentAt = performance.now();
		const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
			const req = http.get({ host: '127.0.0.1', port, path: '/', agent: agents[1] }, (res) => {
				res.resume();
				res.on('end', () => resolve(res));
			});
			req.on('error', reject);
		});
		expect([answer.statusCode, answer.headers.connection]).toEqual([200, 'close']);
		// The server read it while the other two were still open (they would have closed at idleGrace).
		expect(requests.at(-1)! - started).toBeLessThan(idleGrace);
		const [first, , third] = await Promise.all(closedAt);
		// Not at idleGrace, when they had been idle for that long, but idleGrace after the last request: counted here
		// from just before it was sent, which is before the server read it however loaded the machine (the client's
		// answer, which a loaded machine delivers later, is no bound). The library's clock is Date.now(): 1 ms rounding.
		for (const at of [first!, third!]) {
			expect(at - sentAt).toBeGreaterThanOrEqual(idleGrace - 1);
			expect(at - started).toBeLessThan(200 + idleGrace + 1000);
		}
		expect((await shutdown).outcome).toBe('clean');
	});
});
