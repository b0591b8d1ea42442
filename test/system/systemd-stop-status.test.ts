// What systemd hears while the sequence runs, in-process against a fake process and fake timers: STOPPING=1 with
// the first STATUS, a STATUS per phase and count, throttled, one message out at a time, and EXTEND_TIMEOUT_USEC
// only after progress, never past the deadline and its second for the exit. The messages themselves go through
// systemd-notify in systemd-notify.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProc } from '../../src/index.js';
import { OBSERVE_SEQUENCE, type ObservableProc, type SequenceView } from '../../src/sequence-observer.js';
import { EXIT_ALLOWANCE_MS, extensionUsec, RENEWAL_MS, STATUS_INTERVAL_MS, StopStatus, stopStatus } from '../../src/systemd/stop-status.js';
import { createFakeProcess } from '../../src/testing.js';
import type { Proc } from '../../src/types.js';

afterEach(() => {
	vi.useRealTimers();
});

const view = (state: SequenceView['state'], listeners: Array<[string, string]>, finalListeners = 0): SequenceView => ({
	state,
	reason: 'SIGTERM',
	deadline: 0,
	listeners: listeners.map(([name, status]) => ({ name, status })),
	finalListeners,
});
const noDrains = { drains: 0, requests: 0, connections: 0 };

describe('the STATUS line', () => {
	it('names the phase, the reason and the listeners pending, and the drain while one runs', () => {
		const listeners: Array<[string, string]> = [
			['http :3000', 'running'],
			['queue', 'waiting'],
			['cache', 'ok'],
			['db', 'registered'],
		];
		expect(stopStatus(view('wrapping-up', listeners), noDrains)).toBe('wrapping up (SIGTERM): 2 listeners pending (http :3000, queue)');
		expect(stopStatus(view('wrapping-up', listeners), { drains: 1, requests: 1, connections: 3 })).toBe(
			'wrapping up (SIGTERM): draining 1 request, 3 connections; 2 listeners pending (http :3000, queue)',
		);
		expect(stopStatus(view('shutting-down', [['db', 'running']]), noDrains)).toBe('shutting down (SIGTERM): 1 listener pending (db)');
		expect(stopStatus(view('shutting-down', [['http', 'running']]), { drains: 1, requests: 2, connections: 1 })).toBe(
			'shutting down (SIGTERM): draining 2 requests, 1 connection; 1 listener pending (http)',
		);
	});

	it('names three listeners and counts the rest', () => {
		const listeners = ['a', 'b', 'c', 'd', 'e'].map((name): [string, string] => [name, 'running']);
		expect(stopStatus(view('shutting-down', listeners), noDrains)).toBe('shutting down (SIGTERM): 5 listeners pending (a, b, c and 2 more)');
	});

	it('says "final step" while final listeners run, and nothing once the process is on its way out', () => {
		expect(stopStatus(view('done', [], 2), noDrains)).toBe('final step (SIGTERM): 2 final listeners');
		expect(stopStatus(view('forced', [], 1), noDrains)).toBe('final step (SIGTERM, forced): 1 final listener');
		expect(stopStatus(view('done', []), noDrains)).toBeUndefined();
		expect(stopStatus(view('forced', []), noDrains)).toBeUndefined();
	});

	it('names an error that started the sequence by its name, and shutdown() without a reason as such', () => {
		expect(stopStatus({ ...view('wrapping-up', []), reason: new RangeError('x') }, noDrains)).toBe('wrapping up (RangeError): nothing pending');
		expect(stopStatus({ ...view('wrapping-up', []), reason: undefined }, noDrains)).toBe('wrapping up (shutdown()): nothing pending');
	});
});

describe('the extension', () => {
	it('asks for RENEWAL_MS, and never past the deadline and its second for the exit', () => {
		expect(extensionUsec(0, 60_000)).toBe(RENEWAL_MS * 1000);
		expect(extensionUsec(10_000, 12_000)).toBe((2000 + EXIT_ALLOWANCE_MS) * 1000);
		expect(extensionUsec(13_000, 12_000)).toBeUndefined();
	});
});

interface Sent {
	at: number;
	fields: Record<string, string | number>;
}

/** A proc on a fake process, its StopStatus started at the trigger, and every message with the (fake) time it was sent. */
function setUp(options: { timeToForceQuit?: number; send?: (fields: Record<string, string | number>) => Promise<void> } = {}) {
	vi.useFakeTimers();
	const fake = createFakeProcess();
	const proc = createProc({ process: fake, logger: false, timeToForceQuit: options.timeToForceQuit ?? 10_000, timeToWrapUp: 3000 });
	const sent: Sent[] = [];
	let drainWatcher: (() => void) | undefined;
	const drains = { drains: 0, requests: 0, connections: 0 };
	const status = new StopStatus(proc, {
		send: (fields) => {
			sent.push({ at: Date.now(), fields: { ...fields } });
			return options.send?.(fields) ?? Promise.resolve();
		},
		drains: () => drains,
		watchDrains: (watcher) => {
			drainWatcher = watcher;
			return () => (drainWatcher = undefined);
		},
	});
	proc.signal.addEventListener('abort', () => status.start(), { once: true });
	return { fake, proc, sent, drains, progress: () => drainWatcher?.(), watching: () => drainWatcher !== undefined };
}

/** A listener that settles when its `settle` is called. */
function manual(proc: Proc, phase: 'wrap-up' | 'shutdown', name: string) {
	let settle!: () => void;
	const fn = () => new Promise<void>((resolve) => (settle = resolve));
	if (phase === 'wrap-up') proc.addWrapUpListener(fn, { name });
	else proc.addShutdownListener(fn, { name });
	return () => settle();
}

describe('StopStatus: what systemd hears while the sequence runs', () => {
	it('STOPPING=1 with the first STATUS once the listeners are called, then a STATUS per phase, in order', async () => {
		const { fake, proc, sent } = setUp();
		const http = manual(proc, 'wrap-up', 'http');
		const db = manual(proc, 'shutdown', 'db');
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(0);
		expect(sent.map((s) => s.fields)).toEqual([{ STOPPING: 1, STATUS: 'wrapping up (SIGTERM): 1 listener pending (http)' }]);
		await vi.advanceTimersByTimeAsync(1000);
		http();
		await vi.advanceTimersByTimeAsync(STATUS_INTERVAL_MS);
		db();
		await vi.advanceTimersByTimeAsync(STATUS_INTERVAL_MS);
		expect(sent.map((s) => s.fields.STATUS)).toEqual(['wrapping up (SIGTERM): 1 listener pending (http)', 'shutting down (SIGTERM): 1 listener pending (db)']);
		expect(await fake.exited).toBe(0);
	});

	it('says the counts of a drain as they change, at most once every STATUS_INTERVAL_MS, however often it progresses', async () => {
		const { fake, proc, sent, drains, progress } = setUp();
		manual(proc, 'wrap-up', 'http');
		Object.assign(drains, { drains: 1, requests: 40, connections: 40 });
		fake.kill('SIGTERM');
		// A request finishes every 10 ms for 400 ms.
		for (let i = 0; i < 40; i += 1) {
			await vi.advanceTimersByTimeAsync(10);
			drains.requests -= 1;
			drains.connections -= 1;
			progress();
		}
		await vi.advanceTimersByTimeAsync(STATUS_INTERVAL_MS);
		const gaps = sent.slice(1).map((s, i) => s.at - sent[i]!.at);
		expect(Math.min(...gaps)).toBeGreaterThanOrEqual(STATUS_INTERVAL_MS);
		expect(sent.length).toBeLessThanOrEqual(1 + Math.ceil(400 / STATUS_INTERVAL_MS) + 1);
		// The last word is the state as it stands.
		expect(sent.at(-1)!.fields.STATUS).toBe('wrapping up (SIGTERM): draining 0 requests, 0 connections; 1 listener pending (http)');
	});

	it('sends one message at a time: while systemd-notify runs, changes wait and the latest goes out after it', async () => {
		let release!: () => void;
		const { fake, proc, sent, drains, progress } = setUp({ send: () => new Promise<void>((resolve) => (release = resolve)) });
		manual(proc, 'wrap-up', 'http');
		Object.assign(drains, { drains: 1, requests: 3, connections: 3 });
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(0);
		for (let i = 0; i < 3; i += 1) {
			await vi.advanceTimersByTimeAsync(1000);
			drains.requests -= 1;
			progress();
		}
		expect(sent).toHaveLength(1);
		release();
		await vi.advanceTimersByTimeAsync(1);
		expect(sent).toHaveLength(2);
		expect(sent[1]!.fields.STATUS).toMatch(/draining 0 requests/);
	});

	it('renews EXTEND_TIMEOUT_USEC after progress only, never past the deadline and its second for the exit', async () => {
		const { fake, proc, sent, drains, progress } = setUp({ timeToForceQuit: 4000 });
		const http = manual(proc, 'wrap-up', 'http');
		manual(proc, 'shutdown', 'db');
		Object.assign(drains, { drains: 1, requests: 2, connections: 2 });
		fake.kill('SIGTERM');
		const deadline = proc.deadline!;
		// Nothing progresses for two seconds: no extension, whatever else is said.
		await vi.advanceTimersByTimeAsync(2000);
		expect(sent.filter((s) => 'EXTEND_TIMEOUT_USEC' in s.fields)).toEqual([]);
		drains.requests -= 1;
		progress();
		await vi.advanceTimersByTimeAsync(500);
		http();
		await vi.advanceTimersByTimeAsync(500);
		const extensions = sent.filter((s) => 'EXTEND_TIMEOUT_USEC' in s.fields);
		expect(extensions).toHaveLength(2);
		for (const { at, fields } of extensions) {
			const end = at + Number(fields.EXTEND_TIMEOUT_USEC) / 1000;
			// Below RENEWAL_MS here: the deadline's allowance is what bounds it.
			expect(end).toBe(deadline + EXIT_ALLOWANCE_MS);
		}
		// Stuck in the shutdown phase: nothing more until the forced end, and nothing then (the process leaves).
		const before = sent.length;
		await vi.advanceTimersByTimeAsync(2000);
		expect(sent.slice(before)).toEqual([]);
		expect(await fake.exited).toBe(1);
	});

	it('says nothing more once the sequence has ended without a last step, and stops hearing of the drains', async () => {
		const { fake, proc, sent, progress, watching } = setUp();
		const http = manual(proc, 'wrap-up', 'http');
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(0);
		expect(watching()).toBe(true);
		http();
		await vi.advanceTimersByTimeAsync(STATUS_INTERVAL_MS);
		expect(await fake.exited).toBe(0);
		expect(watching()).toBe(false);
		progress();
		await vi.advanceTimersByTimeAsync(STATUS_INTERVAL_MS * 4);
		expect(sent.map((s) => s.fields)).toEqual([{ STOPPING: 1, STATUS: 'wrapping up (SIGTERM): 1 listener pending (http)' }]);
	});

	it('says "final step" while the final listeners run, with more time for the listener that settled', async () => {
		const { fake, proc, sent } = setUp();
		const http = manual(proc, 'wrap-up', 'http');
		let flushed!: () => void;
		proc.addFinalListener!(() => new Promise<void>((resolve) => (flushed = resolve)), { name: 'flush' });
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(STATUS_INTERVAL_MS);
		http();
		await vi.advanceTimersByTimeAsync(STATUS_INTERVAL_MS);
		expect(sent.at(-1)!.fields).toEqual({ STATUS: 'final step (SIGTERM): 1 final listener', EXTEND_TIMEOUT_USEC: RENEWAL_MS * 1000 });
		flushed();
		expect(await fake.exited).toBe(0);
	});
});

describe('observing the sequence', () => {
	it('an observer is told of every transition and settlement, reads the view when it likes, and cannot break the sequence', async () => {
		vi.useFakeTimers();
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, logger: false });
		const seen: string[] = [];
		const observe = (proc as ObservableProc)[OBSERVE_SEQUENCE]!.bind(proc);
		observe({
			// Told inside a transition: the view is read once it is over.
			changed: (view) =>
				queueMicrotask(() => {
					const v = view()!;
					seen.push(`${v.state} ${[...v.listeners].map((l) => `${l.name}:${l.status}`).join(' ')}`);
				}),
		});
		const remove = observe({
			changed: () => {
				throw new Error('observer bug');
			},
		});
		const takes10ms = () => new Promise<void>((resolve) => setTimeout(resolve, 10));
		proc.addWrapUpListener(takes10ms, { name: 'a' });
		proc.addShutdownListener(takes10ms, { name: 'b' });
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(20);
		expect(await fake.exited).toBe(0);
		expect(seen).toEqual(['wrapping-up a:running b:registered', 'shutting-down a:ok b:running', 'done a:ok b:ok']);
		remove();
	});
});
