import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProc } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';

afterEach(() => {
	vi.useRealTimers();
});

function setup(timeToForceQuit = 5000) {
	const fake = createFakeProcess();
	return { fake, proc: createProc({ process: fake, exit: false, logger: false, timeToForceQuit }) };
}

/** A listener that records when it starts and ends, and ends after `ms` (fake time), as `how`. */
function recorder(log: string[]) {
	return (name: string, ms: number, how: 'ok' | 'reject' | 'hang' = 'ok') =>
		() => {
			log.push(`start ${name}`);
			return new Promise<void>((resolve, reject) => {
				if (how === 'hang') return;
				setTimeout(() => {
					log.push(`end ${name}`);
					how === 'ok' ? resolve() : reject(new Error(`${name} failed`));
				}, ms);
			});
		};
}

describe('order within a phase: after', () => {
	it('a listener starts when the listeners it names have settled; unrelated listeners stay concurrent', async () => {
		vi.useFakeTimers();
		const { proc } = setup();
		const log: string[] = [];
		const l = recorder(log);
		const consumer = proc.addShutdownListener(l('consumer', 100), { name: 'consumer' });
		proc.addShutdownListener(l('cache', 10), { name: 'cache' });
		proc.addShutdownListener(l('db', 10), { name: 'db', after: [consumer] });
		proc.addShutdownListener(l('logger', 10), { name: 'logger', after: ['db', 'cache'] });
		const done = proc.shutdown();
		await vi.advanceTimersByTimeAsync(200);
		const report = await done;
		expect(log).toEqual(['start consumer', 'start cache', 'end cache', 'end consumer', 'start db', 'end db', 'start logger', 'end logger']);
		expect(report.outcome).toBe('clean');
		expect(report.durationMs).toBe(120);
		// In the order they ran.
		expect(report.listeners.map((row) => row.name)).toEqual(['consumer', 'cache', 'db', 'logger']);
	});

	it('a predecessor that fails or times out still releases its dependents', async () => {
		vi.useFakeTimers();
		const { proc } = setup();
		const log: string[] = [];
		const l = recorder(log);
		const failing = proc.addWrapUpListener(l('failing', 10, 'reject'));
		const slow = proc.addWrapUpListener(l('slow', 10, 'hang'), { name: 'slow', timeout: 50 });
		proc.addWrapUpListener(l('after', 1), { name: 'after', after: [failing, slow] });
		const done = proc.shutdown();
		await vi.advanceTimersByTimeAsync(100);
		const report = await done;
		expect(log).toEqual(['start failing', 'start slow', 'end failing', 'start after', 'end after']);
		expect(report.listeners.map((row) => [row.name, row.outcome])).toEqual([
			['wrap-up#1', 'error'],
			['slow', 'timeout'],
			['after', 'ok'],
		]);
	});

	it('a shutdown listener may run after a wrap-up listener that outlived timeToWrapUp', async () => {
		vi.useFakeTimers();
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false, timeToWrapUp: 100, timeToForceQuit: 2000 });
		const log: string[] = [];
		const l = recorder(log);
		const drain = proc.addWrapUpListener(l('drain', 300));
		proc.addShutdownListener(l('early', 1));
		proc.addShutdownListener(l('pool', 1), { after: [drain] });
		const done = proc.shutdown();
		await vi.advanceTimersByTimeAsync(400);
		await done;
		expect(log).toEqual(['start drain', 'start early', 'end early', 'end drain', 'start pool', 'end pool']);
	});

	it('a dependent still waiting at the deadline is reported skipped, with what it waited on', async () => {
		vi.useFakeTimers();
		const { proc } = setup(500);
		const l = recorder([]);
		const stuck = proc.addShutdownListener(l('stuck', 0, 'hang'), { name: 'stuck' });
		proc.addShutdownListener(() => {}, { name: 'quick' });
		const pool = proc.addShutdownListener(l('pool', 1), { name: 'pool', after: [stuck, 'quick'] });
		const done = proc.shutdown();
		await vi.advanceTimersByTimeAsync(600);
		const report = await done;
		expect(report.outcome).toBe('forced');
		expect(report.listeners).toEqual([
			{ name: 'stuck', phase: 'shutdown', outcome: 'pending', durationMs: 500 },
			{ name: 'quick', phase: 'shutdown', outcome: 'ok', durationMs: 0 },
			{ name: 'pool', phase: 'shutdown', outcome: 'skipped', durationMs: 0, waitingOn: ['stuck'] },
		]);
		await expect(pool()).rejects.toThrow(/pool/);
	});

	it('removing a predecessor releases its dependents; a waiting listener can be removed', async () => {
		vi.useFakeTimers();
		const { proc } = setup();
		const log: string[] = [];
		const l = recorder(log);
		const first = proc.addShutdownListener(l('first', 50), { name: 'first' });
		const gone = proc.addShutdownListener(l('gone', 1), { name: 'gone' });
		const second = proc.addShutdownListener(l('second', 1), { after: [gone] });
		const third = proc.addShutdownListener(l('third', 1), { name: 'third', after: [first] });
		expect(gone.remove()).toBe(true);
		const done = proc.shutdown();
		await vi.advanceTimersByTimeAsync(10);
		expect(third.remove()).toBe(true);
		await vi.advanceTimersByTimeAsync(100);
		await done;
		expect(log).toEqual(['start first', 'start second', 'end second', 'end first']);
		await expect(second()).resolves.toBeUndefined();
		await expect(third()).rejects.toThrow(/removed/);
	});

	it('refuses what it cannot order, naming the argument and the value; nothing is registered', () => {
		const { proc, fake } = setup();
		const other = createProc({ process: createFakeProcess() }).addShutdownListener(() => {});
		const shutdownWait = proc.addShutdownListener(() => {}, { name: 'db' });
		expect(() => proc.addShutdownListener(() => {}, { after: ['nope'] })).toThrow(/Expected `options.after\[0\]` to be the name of a listener registered on this proc before this one, got `"nope"`/);
		expect(() => proc.addShutdownListener(() => {}, { after: ['db', other] })).toThrow(/Expected `options.after\[1\]` to be a wait function of this proc/);
		expect(() => proc.addShutdownListener(() => {}, { after: [() => Promise.resolve()] as never })).toThrow(/options.after\[0\]/);
		expect(() => proc.addShutdownListener(() => {}, { after: [42] as never })).toThrow(/Expected `options.after\[0\]` to be a wait function or a listener name, got `42`/);
		expect(() => proc.addShutdownListener(() => {}, { after: 'db' as never })).toThrow(/Expected `options.after` to be an array/);
		expect(() => proc.addWrapUpListener(() => {}, { after: [shutdownWait] })).toThrow(RangeError);
		expect(shutdownWait.remove()).toBe(true);
		expect(() => proc.addShutdownListener(() => {}, { after: [shutdownWait] })).toThrow(/still registered/);
		// Only the first listener was ever registered: with it gone, the handlers are off the fake.
		expect(fake.listenedEvents()).toEqual([]);
	});
});
