// A real service (test/fixtures/realtime-server.mjs: Express, SSE, ws, socket.io) gets a real SIGTERM with real
// clients connected on 127.0.0.1. Needs the build (`npm run build`): the fixture imports graceful-proc.
import { performance } from 'node:perf_hooks';
import { io as socketIo, type Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { fixture, reportOf, startNode } from '../helpers/child.js';
import { openSse, openWs } from '../helpers/realtime-clients.js';

function openSocketIo(port: number): Promise<{ socket: Socket; disconnected: Promise<{ reason: string; at: number }> }> {
	return new Promise((resolve, reject) => {
		const socket = socketIo(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
		const disconnected = new Promise<{ reason: string; at: number }>((r) => socket.on('disconnect', (reason) => r({ reason, at: performance.now() })));
		socket.once('hello', () => resolve({ socket, disconnected }));
		socket.once('connect_error', reject);
	});
}

describe('a service with SSE, WebSockets and socket.io gets SIGTERM', () => {
	it('every WebSocket closes with 1001, every SSE stream ends with its last event, exit 0, report clean, closes spread over the window', async () => {
		const spread = 1500;
		const child = startNode(fixture('realtime-server.mjs'), [JSON.stringify({ spread })]);
		const [, portText] = await child.waitFor(/^ready (\d+)/);
		const port = Number(portText);
		const ws = await Promise.all(Array.from({ length: 10 }, () => openWs(port)));
		const sse = await Promise.all(Array.from({ length: 10 }, () => openSse(port)));
		const sio = await Promise.all(Array.from({ length: 4 }, () => openSocketIo(port)));

		const sigtermAt = performance.now();
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		const exitedAt = performance.now();

		const wsCloses = await Promise.all(ws.map((client) => client.closed));
		const sseEnds = await Promise.all(sse.map((client) => client.ended));
		const sioEnds = await Promise.all(sio.map((client) => client.disconnected));
		for (const close of wsCloses) expect(close).toMatchObject({ code: 1001, reason: 'going away' });
		for (const end of sseEnds) {
			expect(end.clean).toBe(true);
			expect(end.events.at(-1)).toBe('bye');
		}
		for (const end of sioEnds) expect(end.reason).toBe('io server disconnect');
		expect(reportOf(child)).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });

		// The i-th of n streams is told no earlier than i × spread / n after the SIGTERM (it cannot be earlier: the
		// child starts its schedule after it got the signal); a client sees it later still.
		const times = [...wsCloses, ...sseEnds, ...sioEnds].map((end) => end.at - sigtermAt).sort((a, b) => a - b);
		const n = times.length;
		times.forEach((t, i) => expect(t).toBeGreaterThanOrEqual((i * spread) / n - 5));
		// Spread, not at once: a third of the closes after the middle of the window.
		expect(times[Math.floor((2 * n) / 3)]!).toBeGreaterThanOrEqual(spread / 2);
		// The process leaves once the last stream is gone: within spread + 1 s by contract; margin for a loaded machine.
		expect(exitedAt - sigtermAt).toBeLessThan(spread + 1000 + 2000);
		for (const client of sio) client.socket.close();
	});

	it('streams on a server that drain() does not drain end when the shutdown starts', async () => {
		const child = startNode(fixture('realtime-server.mjs'), [JSON.stringify({ spread: 1000, undrained: true })]);
		const [, , otherText] = await child.waitFor(/^ready (\d+) (\d+)/);
		const other = await Promise.all(Array.from({ length: 3 }, () => openWs(Number(otherText), '/')));
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		for (const client of other) expect(await client.closed).toMatchObject({ code: 1001 });
		expect(reportOf(child)).toMatchObject({ outcome: 'clean', exitCode: 0 });
	});

	it('drainSignal() from the CommonJS build reaches streams of a server drained by the ESM build', async () => {
		const spread = 1200;
		const child = startNode(fixture('realtime-server.mjs'), [JSON.stringify({ spread, cjs: true })]);
		const [, portText] = await child.waitFor(/^ready (\d+)/);
		const ws = await Promise.all(Array.from({ length: 3 }, () => openWs(Number(portText))));
		const sse = await openSse(Number(portText));
		const sigtermAt = performance.now();
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		const closes = await Promise.all(ws.map((client) => client.closed));
		for (const close of closes) expect(close).toMatchObject({ code: 1001 });
		const end = await sse.ended;
		expect(end.events.at(-1)).toBe('bye');
		// Spread by the drain (the 4th of 4 at 3/4 of it), not all at the start of the shutdown, which is what a
		// signal that missed the drain would do.
		expect(Math.max(end.at, ...closes.map((c) => c.at)) - sigtermAt).toBeGreaterThanOrEqual((3 * spread) / 4);
		expect(reportOf(child)).toMatchObject({ outcome: 'clean', exitCode: 0 });
	});

	it('with no stream open, the drain does not wait for the spread', async () => {
		const child = startNode(fixture('realtime-server.mjs'), [JSON.stringify({ spread: 20_000 })]);
		await child.waitFor(/^ready (\d+)/);
		const sigtermAt = performance.now();
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		expect(performance.now() - sigtermAt).toBeLessThan(5000);
	});
});
