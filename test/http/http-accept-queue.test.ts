// How a stop closes the listening socket (src/http/stop-listening.ts): only once a turn of the event loop took no
// queued connection, at most ACCEPT_QUEUE_MS after the stop; at once at the deadline; and an application's own
// close() meanwhile is answered when the server has closed, without destroying its idle connections.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as realSleep } from 'node:timers/promises';
import { drain } from 'graceful-proc/http';
import { useFakeProcess, useRealProcess } from 'graceful-proc/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ACCEPT_QUEUE_MS, stopListening, stopListeningNow } from '../../src/http/stop-listening.js';

/** Generous for a loaded 2-core machine. */
const MARGIN = 1000;

const cleanups: Array<() => void> = [];
afterEach(() => {
	vi.useRealTimers();
	useRealProcess();
	for (const cleanup of cleanups.splice(0)) cleanup();
});

async function listening(server: net.Server): Promise<number> {
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	cleanups.push(() => {
		server.close();
		(server as http.Server).closeAllConnections?.();
	});
	return (server.address() as net.AddressInfo).port;
}

/** A client that opens a new connection as soon as the last one is open: one more for every turn of the server's loop. */
function connectWithoutPause(port: number): void {
	let stop = false;
	const sockets: net.Socket[] = [];
	cleanups.push(() => {
		stop = true;
		for (const socket of sockets) socket.destroy();
	});
	const next = () => {
		if (stop) return;
		const socket = net.connect(port, '127.0.0.1');
		sockets.push(socket);
		socket.on('connect', next);
		// Refused once the listening socket is closed; the one completed in the queue at that instant is reset.
		socket.on('error', () => {});
	};
	next();
}

describe('stopListening', () => {
	it('closes in the first turn of the loop that took no connection: at once for a server nobody connects to', async () => {
		const server = net.createServer();
		await listening(server);
		const closed = new Promise<void>((resolve) => stopListening(server, resolve));
		// Not in the same turn: the queue is looked at first.
		expect(server.listening).toBe(true);
		const from = performance.now();
		await closed;
		expect(server.listening).toBe(false);
		expect(performance.now() - from).toBeLessThan(MARGIN);
	});

	it('takes connections as long as each turn brings one, for ACCEPT_QUEUE_MS at most, then closes', async () => {
		const server = net.createServer((socket) => socket.on('error', () => {}));
		let taken = 0;
		server.on('connection', () => (taken += 1));
		const port = await listening(server);
		connectWithoutPause(port);
		while (taken < 3) await new Promise((resolve) => setImmediate(resolve));
		const from = performance.now();
		const takenBefore = taken;
		const stopped = await new Promise<number>((resolve) => stopListening(server, undefined, () => resolve(performance.now())));
		// It went on taking them after the stop, and stopped taking them by the cap.
		expect(taken).toBeGreaterThan(takenBefore);
		expect(stopped - from).toBeGreaterThanOrEqual(ACCEPT_QUEUE_MS - 5);
		expect(stopped - from).toBeLessThan(ACCEPT_QUEUE_MS + MARGIN);
		expect(server.listening).toBe(false);
	});

	it('closes at once at the deadline (stopListeningNow)', async () => {
		const server = net.createServer();
		await listening(server);
		let stopped = false;
		stopListening(server, undefined, () => (stopped = true));
		stopListeningNow(server);
		expect([server.listening, stopped]).toEqual([false, true]);
	});

	it("answers the application's own close(callback) while the queue is taken once the server has closed, and leaves its idle connections alone", async () => {
		const server = http.createServer((_req, res) => res.end('ok'));
		const port = await listening(server);
		const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
		cleanups.push(() => agent.destroy());
		let idle: net.Socket | undefined;
		await new Promise<void>((resolve, reject) => {
			const req = http.get({ port, host: '127.0.0.1', agent }, (res) => res.resume().on('end', resolve));
			req.on('socket', (socket) => (idle = socket));
			req.on('error', reject);
		});
		let idleClosed = false;
		idle!.on('close', () => (idleClosed = true));
		stopListening(server);
		const answered = new Promise<unknown>((resolve) => server.close(resolve));
		const turn = () => new Promise((resolve) => setImmediate(resolve));
		while (server.listening) await turn();
		// node's own http close() would have destroyed the idle keep-alive connection at once ('close' a tick later).
		await turn();
		expect(idleClosed).toBe(false);
		idle!.destroy();
		expect(await answered).toBeUndefined();
	});

	it("closes under a test's fake timers too: a drain under the testing kit and vi.useFakeTimers() ends, and the process exits 0", async () => {
		vi.useFakeTimers();
		const fake = useFakeProcess();
		const server = http.createServer((_req, res) => res.end('ok'));
		const port = await listening(server);
		drain(server);
		await new Promise<void>((resolve, reject) => {
			http.get({ port, host: '127.0.0.1', agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
		});
		fake.kill('SIGTERM');
		// The close is timed by node's own timers, which the fakes do not replace: nothing has to advance them.
		expect(await Promise.race([fake.exited, realSleep(MARGIN * 5).then(() => 'not exited')])).toBe(0);
		expect(server.listening).toBe(false);
	});
});
