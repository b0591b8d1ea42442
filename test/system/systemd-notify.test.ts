// systemd's notify protocol against a stand-in manager (a datagram socket that records what arrives, with times):
// READY=1 once serve() listens, WATCHDOG=1 at half of WATCHDOG_USEC only while the loop is live and only for the
// process WATCHDOG_PID names, STOPPING=1 at SIGTERM, STATUS= per phase with the drain's counts, EXTEND_TIMEOUT_USEC
// only after progress and never past the deadline, on the path and the abstract socket; nothing at all without
// NOTIFY_SOCKET. A real systemd as PID 1 is not available in a test container; systemd-notify, which sends the
// messages, is the real one.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Child, fixture, reportOf, startNode } from '../helpers/child.js';

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

/**
 * The systemd-notify processes still delivering to `socket`: each exits once the manager has read its message, so
 * when none is left after the service exited, every message it sent has arrived.
 */
function notifiers(socket: string): number[] {
	const pids: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'systemd-notify') continue;
			if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`NOTIFY_SOCKET=${socket}`)) pids.push(Number(entry));
		} catch {}
	}
	return pids;
}

const waitUntil = async (condition: () => boolean, ms: number) => {
	const end = Date.now() + ms;
	while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
};

/** Waits for the service to exit and for every message it sent to arrive; its `[code, signal]`. */
async function closedAndDelivered(app: Child, socket: string) {
	const closed = await app.closed;
	await waitUntil(() => notifiers(socket).length === 0, 10_000);
	expect(notifiers(socket)).toEqual([]);
	return closed;
}

const fieldOf = (message: string, name: string) =>
	message
		.split('\n')
		.find((line) => line.startsWith(`${name}=`))
		?.slice(name.length + 1);
const statusOf = (arrival: Arrival) => fieldOf(arrival.message, 'STATUS');
/** EXTEND_TIMEOUT_USEC, in ms. */
const extensionOf = (arrival: Arrival) => {
	const usec = fieldOf(arrival.message, 'EXTEND_TIMEOUT_USEC');
	return usec === undefined ? undefined : Number(usec) / 1000;
};

/**
 * systemd-drain-app with requests that answer after `durations` ms (Infinity: never), stopped with SIGTERM once they
 * are all in flight: the request bodies (or the error), and when SIGTERM was sent.
 */
async function stopDuringRequests(env: NodeJS.ProcessEnv, durations: number[]) {
	const app = startNode(fixture('systemd-drain-app.mjs'), [], { env });
	const [, port] = await app.waitFor(/^listening (\d+)$/);
	const bodies = Promise.all(
		durations.map((ms) => get(Number(port), Number.isFinite(ms) ? `/?ms=${ms}` : '/hang').catch((error: NodeJS.ErrnoException) => `error ${error.code}`)),
	);
	await app.waitFor(new RegExp(`^in flight ${durations.length}$`));
	app.process.kill('SIGTERM');
	return { app, port: Number(port), bodies };
}

/** What the app printed: its deadline, and when each response finished. */
function timesOf(app: Child) {
	const deadline = Number(app.stdout.find((line) => line.startsWith('deadline '))?.slice('deadline '.length));
	const finished = app.stdout.filter((line) => line.startsWith('finished ')).map((line) => Number(line.slice('finished '.length)));
	return { deadline, finished };
}

describe.skipIf(!hasTools)('systemd notify (Type=notify)', () => {
	it('READY=1 after listening, watchdog pings that stop while the loop is blocked, STOPPING=1 with the first STATUS at SIGTERM', async () => {
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
			expect(await get(Number(port), '/block')).toBe('ok\n');
			// When the loop was blocked, as the service measured it: the request may reach it late on a loaded machine.
			const [, from, to] = (await app.waitFor(/^blocked (\d+) (\d+)$/)).map(Number);
			await waitUntil(() => manager.arrivals.some((a) => a.message === 'WATCHDOG=1' && a.at > to!), 5000);
			const pings = manager.arrivals.filter((a) => a.message === 'WATCHDOG=1').map((a) => a.at);
			const gaps = pings.slice(1).map((at, i) => at - pings[i]!);
			// A ping started just before the block still arrives (systemd-notify runs on its own): the window leaves it
			// 300 ms. Unstopped, the 200 ms pings would put five in what is left of the 1.5 s.
			expect(pings.filter((at) => at > from! + 300 && at < to! - 100), `pings at ${pings.join(', ')}; blocked ${from} to ${to}`).toEqual([]);
			expect(Math.max(...gaps)).toBeGreaterThanOrEqual(1200);

			const sentAt = Date.now();
			app.process.kill('SIGTERM');
			const [code, signal] = await closedAndDelivered(app, socket);
			expect([code, signal], app.stderr()).toEqual([0, null]);
			const stopping = manager.arrivals.find((arrival) => arrival.message.startsWith('STOPPING=1'))!;
			expect(stopping.message).toMatch(/^STOPPING=1\nSTATUS=wrapping up \(SIGTERM\): draining 0 requests, \d+ connections?; 1 listener pending \(http 127\.0\.0\.1:\d+\)$/);
			expect(stopping.at).toBeGreaterThanOrEqual(sentAt - 50);
			expect(messages().indexOf(ready!.message)).toBeLessThan(messages().indexOf(stopping.message));
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
			expect(await closedAndDelivered(app, socket)).toEqual([0, null]);
			expect(manager.arrivals.map((a) => a.message.split('\n')[0]).slice(0, 2)).toEqual(['READY=1', 'STOPPING=1']);
		} finally {
			app.process.kill('SIGKILL');
			manager.stop();
		}
	});

	it('pings only from the process WATCHDOG_PID names, on the path and the abstract socket', async () => {
		// `sh` sets WATCHDOG_PID to its own pid and becomes the service (exec): the pid systemd would have named.
		const asItself = { node: 'sh', execArgv: ['-c', 'export WATCHDOG_PID=$$; exec "$0" "$@"', process.execPath] };
		const sockets = { path: join(dir, 'wd-path.sock'), abstract: `@graceful-proc-wd-${process.pid}`, other: join(dir, 'wd-other.sock') };
		const managers = { path: startManager(sockets.path), abstract: startManager(sockets.abstract), other: startManager(sockets.other) };
		await Promise.all(Object.values(managers).map((manager) => manager.listening));
		const env = (socket: string, pid?: string) => ({ NOTIFY_SOCKET: socket, WATCHDOG_USEC: '200000', WATCHDOG_PID: pid });
		const apps = {
			path: startNode(fixture('systemd-app.mjs'), [], { ...asItself, env: env(sockets.path) }),
			abstract: startNode(fixture('systemd-app.mjs'), [], { ...asItself, env: env(sockets.abstract) }),
			// Meant for another process (here: the test runner), as a child of the service would inherit it.
			other: startNode(fixture('systemd-app.mjs'), [], { env: env(sockets.other, String(process.pid)) }),
		};
		const pings = (name: keyof typeof managers) => managers[name].arrivals.filter((a) => a.message === 'WATCHDOG=1').length;
		try {
			await Promise.all(Object.values(apps).map((app) => app.waitFor(/^listening/)));
			await waitUntil(() => managers.other.arrivals.some((a) => a.message.startsWith('READY=1')), 5000);
			// From here the third service is ready: it would ping as often as the other two, every 100 ms.
			const [fromPath, fromAbstract] = [pings('path'), pings('abstract')];
			await waitUntil(() => pings('path') >= fromPath + 5 && pings('abstract') >= fromAbstract + 5, 10_000);
			expect([pings('path') - fromPath, pings('abstract') - fromAbstract].every((n) => n >= 5)).toBe(true);
			expect(managers.other.arrivals.map((a) => a.message.split('\n')[0])).toEqual(['READY=1']);
			for (const app of Object.values(apps)) app.process.kill('SIGTERM');
			for (const name of ['path', 'abstract', 'other'] as const) {
				expect(await closedAndDelivered(apps[name], sockets[name]), apps[name].stderr()).toEqual([0, null]);
				expect(managers[name].arrivals.some((a) => a.message.startsWith('STOPPING=1')), name).toBe(true);
			}
			expect(pings('other')).toBe(0);
		} finally {
			for (const app of Object.values(apps)) app.process.kill('SIGKILL');
			for (const manager of Object.values(managers)) manager.stop();
		}
	});
});

describe.skipIf(!hasTools)('a stop that takes a while, as systemd sees it: three requests of 1, 2 and 3 s', () => {
	const socket = join(dir, 'drain.sock');
	let arrivals: Arrival[] = [];
	let app: Child;
	let port = 0;
	let bodies: string[] = [];
	let closed: [number | null, NodeJS.Signals | null];

	beforeAll(async () => {
		const manager = startManager(socket);
		await manager.listening;
		try {
			// The debug log says when each extension was computed and how far it reaches.
			const stop = await stopDuringRequests({ NOTIFY_SOCKET: socket, DEBUG: 'graceful-proc:systemd' }, [1000, 2000, 3000]);
			({ app, port } = stop);
			bodies = await stop.bodies;
			closed = await closedAndDelivered(app, socket);
			arrivals = manager.arrivals;
		} finally {
			app?.process.kill('SIGKILL');
			manager.stop();
		}
	});

	it('STATUS lines follow the phases in order, with the requests and connections the drain still holds', () => {
		expect(closed, app.stderr()).toEqual([0, null]);
		expect(bodies).toEqual(['ok\n', 'ok\n', 'ok\n']);
		expect(reportOf(app)).toMatchObject({ outcome: 'clean', listeners: [{ phase: 'wrap-up', outcome: 'ok' }, { name: 'db', outcome: 'ok' }] });
		const { finished } = timesOf(app);
		expect(arrivals[1]!.message).toBe(`STOPPING=1\nSTATUS=wrapping up (SIGTERM): draining 3 requests, 3 connections; 1 listener pending (http 127.0.0.1:${port})`);
		const stopping = arrivals.slice(1).filter((a) => statusOf(a) !== undefined);
		const statuses = stopping.map((a) => statusOf(a)!);
		const phases = statuses.map((status) => status.slice(0, status.indexOf(' ('))).filter((phase, i, all) => phase !== all[i - 1]);
		expect(phases, statuses.join('\n')).toEqual(['wrapping up', 'shutting down', 'final step']);
		// The requests as they finish, one a second: each count is said, and they only go down.
		const requests = statuses.filter((s) => s.startsWith('wrapping up')).map((s) => Number(/draining (\d+) requests?/.exec(s)![1]));
		expect(requests.filter((n, i) => n > (requests[i - 1] ?? Number.POSITIVE_INFINITY)), statuses.join('\n')).toEqual([]);
		expect([3, 2, 1].every((n) => requests.includes(n)), statuses.join('\n')).toBe(true);
		const second = stopping.find((a) => /draining 2 requests/.test(statusOf(a)!))!;
		expect(second.at).toBeGreaterThanOrEqual(finished[0]!);
		expect(statuses).toContain('shutting down (SIGTERM): 1 listener pending (db)');
		expect(statuses.at(-1)).toBe('final step (SIGTERM): 1 final listener');
		expect(stopping.find((a) => statusOf(a)!.startsWith('shutting down'))!.at).toBeGreaterThanOrEqual(finished[2]!);
	});

	it('EXTEND_TIMEOUT_USEC is renewed as requests finish and listeners settle, none before, and never past the deadline and its second for the exit', () => {
		const { deadline, finished } = timesOf(app);
		expect(finished).toHaveLength(3);
		const extensions = arrivals.filter((a) => extensionOf(a) !== undefined);
		expect(extensionOf(arrivals[1]!)).toBeUndefined();
		// Renewed during the drain (after the first and the second request), and as the phases end.
		expect(extensions.filter((a) => a.at < finished[2]!).length, arrivals.map((a) => a.message).join('\n')).toBeGreaterThanOrEqual(2);
		expect(extensions.length).toBeGreaterThanOrEqual(4);
		// As computed: from when, to when, and the deadline then.
		const computed = [...app.stderr().matchAll(/extension of (\d+) ms after progress, from (\S+) to (\S+) \(the deadline: (\S+)\)/g)].map(
			([, ms, from, to, then]) => ({ ms: Number(ms), from: Date.parse(from!), to: Date.parse(to!), deadline: Date.parse(then!) }),
		);
		expect(computed.map((c) => c.ms)).toEqual(extensions.map((a) => extensionOf(a)));
		const latencies: number[] = [];
		for (const [i, c] of computed.entries()) {
			expect(c.deadline).toBe(deadline);
			expect(c.from).toBeGreaterThanOrEqual(finished[0]!);
			// Each reaches exactly to the deadline and its second for the exit: a renewal of 5 s would reach further.
			expect(c.to).toBe(deadline + 1000);
			expect(c.to - c.from).toBe(c.ms);
			// systemd counts from when it reads the message: systemd-notify's start later (that comes out of the second).
			expect(extensions[i]!.at).toBeGreaterThanOrEqual(c.from);
			latencies.push(Math.round(extensions[i]!.at - c.from));
		}
		console.log(`systemd-notify: computed to read, ${latencies.join(', ')} ms`);
	});
});

describe.skipIf(!hasTools)('a stop that makes no progress', () => {
	it('gets no EXTEND_TIMEOUT_USEC: systemd\'s TimeoutStopSec still ends it', async () => {
		const socket = join(dir, 'stuck.sock');
		const manager = startManager(socket);
		await manager.listening;
		const stop = await stopDuringRequests({ NOTIFY_SOCKET: socket, APP_MODE: 'hang', FORCE_QUIT: '2500', WRAP_UP: '2000' }, [Number.POSITIVE_INFINITY]);
		try {
			expect(await stop.bodies).toEqual(['error ECONNRESET']);
			expect(await closedAndDelivered(stop.app, socket)).toEqual([1, null]);
			expect(reportOf(stop.app)).toMatchObject({ outcome: 'forced', forcedBy: 'deadline' });
			const messages = manager.arrivals.slice(1).map((a) => a.message);
			expect(messages[0]).toBe(`STOPPING=1\nSTATUS=wrapping up (SIGTERM): draining 1 request, 1 connection; 1 listener pending (http 127.0.0.1:${stop.port})`);
			// The wrap-up time passing is a new phase, not progress.
			expect(messages.slice(1)).toEqual([`STATUS=shutting down (SIGTERM): draining 1 request, 1 connection; 1 listener pending (http 127.0.0.1:${stop.port})`]);
		} finally {
			stop.app.process.kill('SIGKILL');
			manager.stop();
		}
	});
});

describe('without NOTIFY_SOCKET', () => {
	const env = { NOTIFY_SOCKET: undefined, WATCHDOG_USEC: '200000', WATCHDOG_PID: undefined };

	it('a service sends nothing and starts no systemd-notify, through a whole stop with a drain', async () => {
		const stop = await stopDuringRequests(env, [300, 600]);
		try {
			expect(await stop.bodies).toEqual(['ok\n', 'ok\n']);
			expect(await stop.app.closed).toEqual([0, null]);
			expect(reportOf(stop.app)).toMatchObject({ outcome: 'clean' });
			expect(stop.app.stdout).toContain('children spawned: 0');
			// A systemd-notify that could not be run would have warned (GRACEFUL_PROC_SYSTEMD_NOTIFY).
			expect(stop.app.stderr()).toBe('');
		} finally {
			stop.app.process.kill('SIGKILL');
		}
	});

	it('a worker that calls notifyReady() does not even load node:child_process', async () => {
		const app = startNode(fixture('systemd-drain-app.mjs'), [], { env: { ...env, APP_MODE: 'worker' } });
		try {
			await app.waitFor(/^ready$/);
			app.process.kill('SIGTERM');
			expect(await app.closed).toEqual([0, null]);
			expect(reportOf(app)).toMatchObject({ outcome: 'clean', listeners: [{ name: 'consumer', outcome: 'ok' }, { name: 'loop', outcome: 'ok' }] });
			expect(app.stdout).toContain('child_process loaded: false');
			expect(app.stderr()).toBe('');
		} finally {
			app.process.kill('SIGKILL');
		}
	});
});
