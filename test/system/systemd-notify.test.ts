// systemd's notify protocol against a stand-in manager (a datagram socket that records what arrives, with times):
// READY=1 once serve() listens, WATCHDOG=1 at half of WATCHDOG_USEC only while the loop is live, STOPPING=1 with
// EXTEND_TIMEOUT_USEC at SIGTERM, and nothing at all without NOTIFY_SOCKET. A real systemd as PID 1 is not
// available in a test container; systemd-notify, which sends the messages, is the real one.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, startNode } from '../helpers/child.js';

const hasTools = spawnSync('systemd-notify', ['--version']).status === 0 && spawnSync('python3', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'graceful-proc-systemd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Arrival {
	at: number;
	message: string;
}

function startManager(socket: string) {
	const child = spawn('python3', [fixture('fake-systemd.py'), socket], { stdio: ['ignore', 'pipe', 'inherit'] });
	const arrivals: Arrival[] = [];
	let partial = '';
	const listening = new Promise<void>((resolve, reject) => {
		child.on('error', reject);
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
			partial += chunk;
			const lines = partial.split('\n');
			partial = lines.pop()!;
			for (const line of lines) {
				const value = JSON.parse(line);
				if (value.listening) resolve();
				// systemd-notify's own synchronization (a BARRIER=1 after each message), not something we sent.
				else if (value.message !== 'BARRIER=1') arrivals.push(value);
			}
		});
	});
	return { arrivals, listening, stop: () => child.kill() };
}

function get(port: number, path: string): Promise<string> {
	return new Promise((resolve, reject) => {
		http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve(body));
		}).on('error', reject);
	});
}

const waitUntil = async (condition: () => boolean, ms: number) => {
	const end = Date.now() + ms;
	while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
};

describe.skipIf(!hasTools)('systemd notify (Type=notify)', () => {
	it('READY=1 after listening, watchdog pings that stop while the loop is blocked, STOPPING=1 with more time at SIGTERM', async () => {
		const socket = join(dir, 'notify.sock');
		const manager = startManager(socket);
		await manager.listening;
		const app = startNode(fixture('systemd-app.mjs'), [], { env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000' } });
		try {
			const [, port] = await app.waitFor(/^listening (\d+)$/);
			const messages = () => manager.arrivals.map((arrival) => arrival.message);
			await waitUntil(() => messages().filter((m) => m === 'WATCHDOG=1').length >= 4, 10_000);
			const ready = manager.arrivals.find((arrival) => arrival.message.startsWith('READY=1'));
			expect(ready?.message).toMatch(/^READY=1\nSTATUS=serving http:\/\/127\.0\.0\.1:\d+$/);

			// The loop is blocked for 1.5 s: no ping can go out meanwhile.
			const blockedAt = Date.now();
			expect(await get(Number(port), '/block')).toBe('ok\n');
			const answeredAt = Date.now();
			await waitUntil(() => manager.arrivals.some((a) => a.message === 'WATCHDOG=1' && a.at > answeredAt), 5000);
			const pings = manager.arrivals.filter((a) => a.message === 'WATCHDOG=1').map((a) => a.at);
			const gaps = pings.slice(1).map((at, i) => at - pings[i]!);
			expect(pings.filter((at) => at > blockedAt + 100 && at < answeredAt - 100), `pings at ${pings.join(', ')}`).toEqual([]);
			expect(Math.max(...gaps)).toBeGreaterThanOrEqual(1200);

			const sentAt = Date.now();
			app.process.kill('SIGTERM');
			const [code, signal] = await app.closed;
			await waitUntil(() => messages().some((m) => m.startsWith('STOPPING=1')), 5000);
			expect([code, signal], app.stderr()).toEqual([0, null]);
			const stopping = manager.arrivals.find((arrival) => arrival.message.startsWith('STOPPING=1'))!;
			expect(stopping.message).toMatch(/^STOPPING=1\nSTATUS=stopping \(SIGTERM\)\nEXTEND_TIMEOUT_USEC=\d+$/);
			const extendMs = Number(stopping.message.split('EXTEND_TIMEOUT_USEC=')[1]) / 1000;
			// The proc's own deadline (5.5 s by default, or what drain() reserves) and a second for the exit; never unbounded.
			expect(extendMs).toBeGreaterThan(1000);
			expect(extendMs).toBeLessThan(60_000);
			expect(stopping.at).toBeGreaterThanOrEqual(sentAt - 50);
			expect(messages().indexOf('READY=1\n' + ready!.message.split('\n')[1])).toBeLessThan(messages().indexOf(stopping.message));
			expect(manager.arrivals.filter((a) => a.message === 'WATCHDOG=1' && a.at > stopping.at + 300)).toEqual([]);
		} finally {
			app.process.kill('SIGKILL');
			manager.stop();
		}
	});

	it('speaks to an abstract socket (@name) too', async () => {
		const socket = `@graceful-proc-test-${process.pid}`;
		const manager = startManager(socket);
		await manager.listening;
		const app = startNode(fixture('systemd-app.mjs'), [], { env: { NOTIFY_SOCKET: socket } });
		try {
			await app.waitFor(/^listening (\d+)$/);
			await waitUntil(() => manager.arrivals.length > 0, 5000);
			expect(manager.arrivals[0]?.message).toMatch(/^READY=1\n/);
			app.process.kill('SIGTERM');
			expect(await app.closed).toEqual([0, null]);
			await waitUntil(() => manager.arrivals.length > 1, 5000);
			expect(manager.arrivals.map((a) => a.message.split('\n')[0])).toEqual(['READY=1', 'STOPPING=1']);
		} finally {
			app.process.kill('SIGKILL');
			manager.stop();
		}
	});

	it('sends nothing, and runs no systemd-notify, without NOTIFY_SOCKET', async () => {
		const socket = join(dir, 'unused.sock');
		const manager = startManager(socket);
		await manager.listening;
		const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: undefined, WATCHDOG_USEC: '200000', PATH: '/nonexistent' };
		const app = startNode(fixture('systemd-app.mjs'), [], { env });
		try {
			await app.waitFor(/^listening (\d+)$/);
			await new Promise((resolve) => setTimeout(resolve, 500));
			app.process.kill('SIGTERM');
			expect(await app.closed).toEqual([0, null]);
			// With PATH emptied, a systemd-notify attempt would have warned (GRACEFUL_PROC_SYSTEMD_NOTIFY).
			expect(app.stderr()).toBe('');
			expect(manager.arrivals).toEqual([]);
		} finally {
			app.process.kill('SIGKILL');
			manager.stop();
		}
	});
});
