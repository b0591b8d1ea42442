// drain() reserves its time on the proc (issue 16): the times the user left unset follow from it, so that with
// every time at its default nothing the drain serves is cut; a time the user set that cannot hold it is
// reported when drain() is called, not at SIGTERM during a deploy.
import { once } from 'node:events';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { drain } from '../../src/http/index.js';
import { REQUEST_ALLOWANCE } from '../../src/http/drain.js';
import { createFakeProcess } from '../../src/testing.js';
import { request, startServer } from '../helpers/http-harness.js';

const servers: http.Server[] = [];
afterEach(() => {
	for (const server of servers.splice(0)) server.close();
});

async function listening(): Promise<http.Server> {
	const server = http.createServer((_req, res) => res.end('ok'));
	servers.push(server);
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	return server;
}

function warningsOf(fake: ReturnType<typeof createFakeProcess>): string[] {
	const recorded = (fake as unknown as { warnings?: Array<{ message: string } | string> }).warnings ?? [];
	return recorded.map((w) => (typeof w === 'string' ? w : w.message));
}

describe('drain() reserves delay + idleGrace + the time a last request may take', () => {
	it('unset times grow to hold it, and shrink back when the drain is removed', async () => {
		const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
		expect([proc.timeToWrapUp, proc.timeToForceQuit]).toEqual([1000, 5500]);
		const wait = drain(await listening(), { delay: 5000, proc });
		const reserved = 5000 + 500 + REQUEST_ALLOWANCE;
		expect(proc.timeToWrapUp).toBe(reserved);
		// The shutdown phase keeps its default length after it.
		expect(proc.timeToForceQuit).toBe(reserved + 4500);
		wait.remove();
		expect([proc.timeToWrapUp, proc.timeToForceQuit]).toEqual([1000, 5500]);
	});

	it('with `timeout`, the drain’s own limit, exactly that', async () => {
		const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
		drain(await listening(), { delay: 1000, timeout: 9000, proc }).remove();
		expect(proc.timeToWrapUp).toBe(1000);
		drain(await listening(), { delay: 1000, timeout: 9000, proc });
		expect(proc.timeToWrapUp).toBe(9000);
	});

	it('a timeToWrapUp the user set that cannot hold it is reported when drain() is called, with the numbers', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false, timeToWrapUp: 1000 });
		drain(await listening(), { delay: 5000, proc, name: 'api' }).remove();
		expect(warningsOf(fake).join('\n')).toMatch(/timeToWrapUp is 1000 ms, but the wrap-up listener `api` may take 7500 ms/);
	});

	it('says nothing when the times the user set hold it', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false, timeToWrapUp: 8000, timeToForceQuit: 12_000 });
		drain(await listening(), { delay: 5000, proc }).remove();
		expect(warningsOf(fake)).toEqual([]);
	});
});

describe('serve() with a 5 s delay and every time at its default, under a real SIGTERM', () => {
	it('answers a 1.5 s request that arrives 4.5 s after SIGTERM, and stops clean', async () => {
		const server = await startServer({ factory: 'serve-express', drain: { delay: 5000 }, announce: true });
		server.sigterm();
		// Not a handshake: the scenario is a request this late in the delay.
		await sleep(4500);
		const answer = await request({ port: server.port, path: '/slow?ms=1500&id=late' });
		expect([answer.status, answer.body]).toEqual([200, 'late\n']);
		const exit = await server.exited;
		expect([exit.code, exit.signal], server.stderr()).toEqual([0, null]);
		const { report } = await server.report();
		expect(report.outcome).toBe('clean');
		expect(server.stderr()).toBe('');
	}, 20_000);
});
