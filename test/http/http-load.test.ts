// The load test: keep-alive clients send steadily to handlers that take 20-200 ms, and the server gets a
// SIGTERM in the middle. Every request is classified (see bench/http/load.js): answered, refused before it
// was sent (safe to retry elsewhere), or lost (sent, then reset or hung up). Nothing may be lost, every
// request the server read must be answered, and the process must be gone right after the last answer.
// The load is the bench's: 12 loops on 8 pooled sockets, so requests queue in the agent and take a
// connection the moment a response frees it. stoppable, terminus and http-terminator lose requests to it.
import { describe, it } from 'vitest';
import { runLoad, summarize } from '../../bench/http/load.js';
import { type Factory, startServer, testCertificate } from '../helpers/http-harness.js';

const certificate = testCertificate();
const factories: Array<[Factory, 'http' | 'https' | 'h2']> = [
	['http', 'http'],
	['express', 'http'],
	['koa', 'http'],
	['serve-handler', 'http'],
];
if (certificate) factories.push(['https', 'https'], ['http2', 'h2'], ['http2', 'https']);

const MAX_MS = 200;
const MARGIN = 1000;
/**
 * The SIGTERM comes once this many requests were answered and every pooled connection has carried one (so none
 * waits in the listen backlog, which the kernel resets when the server stops accepting), after 600 ms at least:
 * the shutdown happens under a real load however slow the machine is. Three rounds of the 8 sockets.
 */
const WARMUP_ANSWERED = 24;

async function loadAndSigterm(factory: Factory, protocol: 'http' | 'https' | 'h2', idleGrace: number | undefined, extra: { streamShare?: number; busyMs?: number }) {
	const server = await startServer({ factory, drain: idleGrace === undefined ? {} : { idleGrace }, keepAliveTimeout: 30_000 });
	const { requests, triggerAt, origin } = await runLoad({
		port: server.port,
		protocol,
		ca: certificate?.ca,
		loops: 12,
		sockets: 8,
		minMs: 20,
		maxMs: MAX_MS,
		thinkMs: 20,
		warmupMs: 600,
		warmupAnswered: WARMUP_ANSWERED,
		...extra,
		trigger: () => server.sigterm(),
		until: server.exited,
	}).catch((error: unknown) => {
		// A warm-up that never came: the server gets no SIGTERM, and must not outlive the test.
		server.child.kill('SIGKILL');
		throw error;
	});
	const exit = await server.exited;
	const { seen } = await server.report();
	const summary = summarize(requests, new Set(seen));
	return { requests, summary, exit, sigterm: origin + triggerAt!, lastAnswered: origin + summary.lastAnswered };
}

describe('under keep-alive load, a SIGTERM loses no request, answers every request the server read, and exits right after the last answer', () => {
	it.for(factories)('%s server, %s clients', async ([factory, protocol], { expect }) => {
		// idleGrace and the keep-alive timeout are long, so that waiting for either would show.
		const { requests, summary, exit, sigterm, lastAnswered } = await loadAndSigterm(factory, protocol, 3000, {});
		expect(requests.filter((r) => r.outcome === 'lost'), JSON.stringify(summary)).toEqual([]);
		expect(summary.acceptedNotAnswered).toBe(0);
		// The shutdown happened under load: requests in flight were answered with `Connection: close` (HTTP/2:
		// on a session that got a GOAWAY), and the ones after them refused.
		expect(summary.answered).toBeGreaterThan(20);
		expect(requests.filter((r) => r.close && r.outcome === 'answered').length).toBeGreaterThan(0);
		expect(summary.refused).toBeGreaterThan(0);
		expect([exit.code, exit.signal]).toEqual([0, null]);
		expect(exit.at - lastAnswered).toBeLessThan(MARGIN);
		// Requests in flight at the SIGTERM, plus those that came on pooled connections meanwhile.
		expect(exit.at - sigterm).toBeLessThan(2 * MAX_MS + MARGIN);
	});
});

describe('with streamed responses and a busy client too, a SIGTERM loses no request and answers every request the server read', () => {
	// A fifth of the responses send their headers before the handler waits: in flight at the SIGTERM, they
	// cannot say `Connection: close` any more, and their connection is free for a queued request the moment they
	// end. The client spends 1 ms on each response, so it notices a closing connection late, as over a network.
	it.for(factories)('%s server, %s clients', async ([factory, protocol], { expect }) => {
		const { requests, summary, exit, sigterm } = await loadAndSigterm(factory, protocol, undefined, { streamShare: 0.2, busyMs: 1 });
		expect(requests.filter((r) => r.outcome === 'lost'), JSON.stringify(summary)).toEqual([]);
		expect(summary.acceptedNotAnswered).toBe(0);
		expect(summary.answered).toBeGreaterThan(20);
		expect([exit.code, exit.signal]).toEqual([0, null]);
		// At worst a streamed connection nobody reused waits out the default idleGrace (500 ms).
		expect(exit.at - sigterm).toBeLessThan(2 * MAX_MS + 500 + MARGIN);
	});
});
