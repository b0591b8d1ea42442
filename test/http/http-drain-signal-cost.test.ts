// What drainSignal(req) keeps for a keep-alive connection that carries many requests, each asking: real http
// clients on 127.0.0.1, a drained server (an isolated proc on a fake process) and one drain() does not drain.
import { addAbortListener, getEventListeners, once } from 'node:events';
import { setTimeout as setTimeoutPromise } from 'node:timers/promises';
import { aborted } from 'node:util';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc, proc as processWideProc } from '../../src/index.js';
import { drainSignal } from '../../src/http/index.js';
import { registerDrain } from '../../src/http/drain.js';
import { followingCount } from '../../src/http/drain-signal.js';
import { resolveDrainOptions } from '../../src/http/options.js';
import { createFakeProcess } from '../../src/testing.js';
import { listenOnLoopback } from '../helpers/loopback.js';

const REQUESTS = 1000;

const cleanup: Array<() => void> = [];
afterEach(() => {
	for (const fn of cleanup.splice(0)) fn();
});

/** Every warning the process emits while a test runs. */
function collectWarnings(): Error[] {
	const warnings: Error[] = [];
	const onWarning = (warning: Error) => warnings.push(warning);
	process.on('warning', onWarning);
	cleanup.push(() => process.off('warning', onWarning));
	return warnings;
}

interface Seen {
	/** Distinct signals handed out. */
	signals: Set<AbortSignal>;
	/** The most 'abort' listeners a signal already had when a request got it (listeners of earlier requests). */
	inheritedListeners: number;
}

/**
 * A server whose handler asks on every request; every other request leaves an 'abort' listener behind on its
 * signal (as a handler that passes it to work that never removes its listener), the others only read it.
 */
function askingServer(): { server: http.Server; seen: Seen } {
	const seen: Seen = { signals: new Set(), inheritedListeners: 0 };
	let count = 0;
	const server = http.createServer((req, res) => {
		const signal = drainSignal(req);
		expect(drainSignal(req)).toBe(signal);
		seen.signals.add(signal);
		seen.inheritedListeners = Math.max(seen.inheritedListeners, getEventListeners(signal, 'abort').length);
		if (count++ % 2 === 0) signal.addEventListener('abort', () => res.end('bye'));
		res.end(signal.aborted ? 'aborted' : 'ok');
	});
	return { server, seen };
}

/** `REQUESTS` requests one after the other on one keep-alive connection; `each` runs after every response. */
async function oneConnection(port: number, each: () => void): Promise<void> {
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	cleanup.push(() => agent.destroy());
	const sockets = new Set<unknown>();
	for (let i = 0; i < REQUESTS; i++) {
		await new Promise<void>((resolve, reject) => {
			const request = http.get({ host: '127.0.0.1', port, agent }, (res) => res.resume().on('end', resolve));
			request.on('socket', (socket) => sockets.add(socket));
			request.on('error', reject);
		});
		each();
	}
	expect(sockets.size).toBe(1);
}

describe('drainSignal(req) on every request of a keep-alive connection holds the same, whatever the count', () => {
	it('on a drained server: at most one connection entry and one signal, no listener warning, nothing once idle', async () => {
		const warnings = collectWarnings();
		const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
		const { server, seen } = askingServer();
		const port = await listenOnLoopback(server, cleanup);
		const { drainer } = registerDrain(server, resolveDrainOptions({ proc }));
		let most = 0;
		await oneConnection(port, () => {
			const { signals, signalConnections } = drainer.snapshot();
			most = Math.max(most, signals, signalConnections);
		});
		expect(warnings.map(String)).toEqual([]);
		expect(most).toBeLessThanOrEqual(1);
		expect(drainer.snapshot()).toMatchObject({ connections: 1, signals: 0, signalConnections: 0 });
		// A request never gets a signal carrying an earlier request's listener; requests that leave none share one.
		expect(seen.inheritedListeners).toBe(0);
		expect(seen.signals.size).toBeLessThanOrEqual(REQUESTS / 2 + 1);
		await proc.shutdown();
	});

	it('on a server drain() does not drain: one entry for the connection, one listener on proc.signal, no listener warning', async () => {
		const warnings = collectWarnings();
		const { server, seen } = askingServer();
		const port = await listenOnLoopback(server, cleanup);
		const held = followingCount();
		const onProcSignal = getEventListeners(processWideProc.signal, 'abort').length;
		let most = 0;
		await oneConnection(port, () => {
			most = Math.max(most, followingCount() - held);
		});
		expect(warnings.map(String)).toEqual([]);
		expect(most).toBe(1);
		expect(getEventListeners(processWideProc.signal, 'abort').length).toBeLessThanOrEqual(onProcSignal + 1);
		expect(seen.inheritedListeners).toBe(0);
		expect(seen.signals.size).toBeLessThanOrEqual(REQUESTS / 2 + 1);
	});
});

/** Every way a handler may listen to its signal, each leaving its listener on it when the response ends. */
const LISTENING: Record<string, (signal: AbortSignal) => void> = {
	addEventListener: (signal) => signal.addEventListener('abort', () => {}),
	onabort: (signal) => {
		signal.onabort = () => {};
	},
	'events.once': (signal) => void once(signal, 'abort').catch(() => {}),
	addAbortListener: (signal) => void addAbortListener(signal, () => {}),
	'util.aborted': (signal) => void aborted(signal, {}).catch(() => {}),
	'timers/promises': (signal) => void setTimeoutPromise(60_000, undefined, { signal }).catch(() => {}),
};

/** Two requests on one keep-alive connection: the first listens as `listen` does (or not), then both report. */
async function twoRequests(port: number): Promise<void> {
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	cleanup.push(() => agent.destroy());
	for (const path of ['/first', '/second']) {
		await new Promise<void>((resolve, reject) => {
			http.get({ host: '127.0.0.1', port, agent, path }, (res) => res.resume().on('end', resolve)).on('error', reject);
		});
	}
}

describe('drainSignal(req): a request never gets a signal that an earlier one listened to and left listened', () => {
	for (const drained of [true, false]) {
		for (const [way, listen] of Object.entries(LISTENING)) {
			it(`${drained ? 'drained' : 'undrained'} server, listened to with ${way}`, async () => {
				const signals: AbortSignal[] = [];
				const server = http.createServer((req, res) => {
					const signal = drainSignal(req);
					signals.push(signal);
					if (req.url === '/first') listen(signal);
					expect(drainSignal(req)).toBe(signal);
					res.end('ok');
				});
				const port = await listenOnLoopback(server, cleanup);
				const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
				if (drained) registerDrain(server, resolveDrainOptions({ proc }));
				await twoRequests(port);
				expect(getEventListeners(signals[0]!, 'abort').length).toBeGreaterThan(0);
				expect(signals[1]).not.toBe(signals[0]);
				expect(getEventListeners(signals[1]!, 'abort')).toEqual([]);
				await proc.shutdown();
			});
		}

		it(`${drained ? 'drained' : 'undrained'} server: a signal whose listeners were all removed again is reused`, async () => {
			const signals: AbortSignal[] = [];
			const server = http.createServer((req, res) => {
				const signal = drainSignal(req);
				signals.push(signal);
				const listener = () => {};
				signal.addEventListener('abort', listener);
				res.on('close', () => signal.removeEventListener('abort', listener));
				res.end('ok');
			});
			const port = await listenOnLoopback(server, cleanup);
			const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
			if (drained) registerDrain(server, resolveDrainOptions({ proc }));
			await twoRequests(port);
			expect(signals[1]).toBe(signals[0]);
			await proc.shutdown();
		});
	}
});
