import { afterEach, describe, expect, it, vi } from 'vitest';
import { inspect } from 'node:util';
import { createProc, ForceQuitError, ListenerRemovedError, ListenerTimeoutError, type ProcOptions, run } from '../../src/index.js';
import { createFakeProcess, type FakeProcess } from '../../src/testing.js';
import { AppProcess } from '../helpers/app-process.js';
import { hostileValues } from '../helpers/hostile.js';

function setup(options: Omit<ProcOptions, 'process'> & { fake?: FakeProcess } = {}) {
	const { fake = createFakeProcess(), ...rest } = options;
	const errors: string[] = [];
	const proc = createProc({ process: fake, logger: { error: (m) => errors.push(m) }, ...rest });
	return { fake, proc, errors };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(() => {
	vi.useRealTimers();
});

describe('a signal runs every listener and exits', () => {
	it('exits 0 after every wrap-up and shutdown listener succeeded', async () => {
		const { fake, proc } = setup();
		const calls: string[] = [];
		proc.addWrapUpListener(() => void calls.push('wrap-up'));
		proc.addShutdownListener(async () => {
			await sleep(5);
			calls.push('shutdown');
		});
		fake.kill('SIGTERM');
		expect(await fake.exited).toBe(0);
		expect(calls).toEqual(['wrap-up', 'shutdown']);
		expect(proc.state).toBe('done');
	});

	it('passes the reason, an AbortSignal and the deadline to each listener', async () => {
		const { fake, proc } = setup({ timeToForceQuit: 3000 });
		let seen: { reason: unknown; aborted: boolean; deadline: number } | undefined;
		const before = Date.now();
		proc.addWrapUpListener((ctx) => {
			seen = { reason: ctx.reason, aborted: ctx.signal.aborted, deadline: ctx.deadline };
		});
		fake.kill('SIGINT');
		await fake.exited;
		expect(seen?.reason).toBe('SIGINT');
		expect(seen?.aborted).toBe(false);
		expect(seen!.deadline).toBeGreaterThanOrEqual(before + 3000);
		expect(seen!.deadline).toBeLessThanOrEqual(Date.now() + 3000);
	});

	it('gives a ctx that shows, listed, serialized or printed, only what a listener may read', async () => {
		const { fake, proc } = setup({ timeToForceQuit: 3000 });
		let ctx: unknown;
		proc.addWrapUpListener((context) => {
			ctx = context;
		});
		fake.kill('SIGTERM');
		await fake.exited;
		const { reason, deadline } = ctx as { reason: unknown; deadline: number };
		expect(Object.keys(ctx as object)).toEqual(['reason', 'deadline']);
		expect(JSON.parse(JSON.stringify(ctx))).toEqual({ reason: 'SIGTERM', deadline });
		expect(inspect(ctx)).toBe(inspect({ reason, deadline }));
		expect((ctx as { signal: unknown }).signal).toBeInstanceOf(AbortSignal);
	});

	it('runs the listeners of one phase concurrently, not one after another', async () => {
		const { fake, proc } = setup();
		let running = 0;
		let peak = 0;
		for (let i = 0; i < 5; i++) {
			proc.addWrapUpListener(async () => {
				running++;
				peak = Math.max(peak, running);
				await sleep(20);
				running--;
			});
		}
		fake.kill('SIGTERM');
		await fake.exited;
		expect(peak).toBe(5);
	});

	it('starts the shutdown phase as soon as every wrap-up listener settled, not after timeToWrapUp', async () => {
		vi.useFakeTimers();
		const { fake, proc } = setup({ timeToWrapUp: 10_000 });
		proc.addWrapUpListener(() => sleep(50));
		let shutdownAt = -1;
		const start = Date.now();
		proc.addShutdownListener(() => {
			shutdownAt = Date.now() - start;
		});
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(60);
		expect(shutdownAt).toBe(50);
		expect(await fake.exited).toBe(0);
	});

	it('starts the shutdown phase at timeToWrapUp when a wrap-up listener is still running, and waits for both', async () => {
		vi.useFakeTimers();
		const { fake, proc } = setup({ timeToWrapUp: 100, timeToForceQuit: 10_000 });
		proc.addWrapUpListener(() => sleep(300), { name: 'slow' });
		let shutdownAt = -1;
		const start = Date.now();
		proc.addShutdownListener(() => {
			shutdownAt = Date.now() - start;
		});
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(150);
		expect(shutdownAt).toBe(100);
		expect(proc.state).toBe('shutting-down');
		expect(fake.exitCode).toBeUndefined();
		await vi.advanceTimersByTimeAsync(200);
		expect(await fake.exited).toBe(0);
	});

	it('exits 1 and names the listener when one rejects or throws, and the others still run', async () => {
		const { fake, proc, errors } = setup();
		const ran: string[] = [];
		proc.addWrapUpListener(
			() => {
				throw new Error('sync boom');
			},
			{ name: 'sync' },
		);
		proc.addWrapUpListener(() => Promise.reject(new Error('async boom')), { name: 'async' });
		proc.addWrapUpListener(() => void ran.push('wrap-up ok'));
		proc.addShutdownListener(() => void ran.push('shutdown ok'), { name: 'db' });
		const reportPromise = proc.shutdown('test');
		expect(await fake.exited).toBe(1);
		const report = await reportPromise;
		expect(ran).toEqual(['wrap-up ok', 'shutdown ok']);
		expect(report.outcome).toBe('failed');
		expect(report.listeners.map((l) => [l.name, l.outcome])).toEqual([
			['sync', 'error'],
			['async', 'error'],
			['wrap-up#3', 'ok'],
			['db', 'ok'],
		]);
		expect(errors.join('\n')).toMatch(/error\s+sync \(wrap-up, \d+ ms\): Error: sync boom/);
		expect(JSON.parse(JSON.stringify(report)).listeners[0]).toEqual({ name: 'sync', phase: 'wrap-up', outcome: 'error', durationMs: expect.any(Number), error: { name: 'Error', message: 'sync boom', stack: expect.stringContaining('Error: sync boom') } });
		expect(errors.join('\n')).toMatch(/async \(wrap-up.*async boom/);
	});

	it('does not print anything when the shutdown is clean', async () => {
		const { fake, proc, errors } = setup();
		proc.addWrapUpListener(() => {});
		fake.kill('SIGTERM');
		await fake.exited;
		expect(errors).toEqual([]);
	});
});

describe('wait() settles when that one listener has run', () => {
	it('resolves for a successful listener before the whole sequence ends', async () => {
		const { proc } = setup({ exit: false });
		const fast = proc.addWrapUpListener(() => sleep(1));
		proc.addWrapUpListener(() => sleep(100));
		void proc.shutdown();
		await fast();
		expect(proc.state).toBe('wrapping-up');
	});

	it('rejects with the listener error', async () => {
		const { proc } = setup({ exit: false });
		const error = new Error('nope');
		const wait = proc.addShutdownListener(() => {
			throw error;
		});
		await proc.shutdown();
		await expect(wait()).rejects.toBe(error);
	});

	it('never leaves an unhandled rejection when nobody calls it', async () => {
		const unhandled = vi.fn();
		process.on('unhandledRejection', unhandled);
		try {
			const { proc } = setup({ exit: false });
			proc.addShutdownListener(() => Promise.reject(new Error('ignored')));
			proc.addWrapUpListener(() => {}).remove();
			await proc.shutdown();
			await sleep(10);
			expect(unhandled).not.toHaveBeenCalled();
		} finally {
			process.off('unhandledRejection', unhandled);
		}
	});

	it('works for a synchronous listener (the deferred exists before the call)', async () => {
		const { proc } = setup({ exit: false });
		const wait = proc.addWrapUpListener(() => 42);
		await proc.shutdown();
		await expect(wait()).resolves.toBeUndefined();
	});

	it('remove() unregisters a listener that has not run, and rejects its wait with ListenerRemovedError', async () => {
		const { proc } = setup({ exit: false });
		const fn = vi.fn();
		const wait = proc.addWrapUpListener(fn, { name: 'gone' });
		expect(wait.listenerName).toBe('gone');
		expect(wait.remove()).toBe(true);
		expect(wait.remove()).toBe(false);
		const report = await proc.shutdown();
		expect(fn).not.toHaveBeenCalled();
		expect(report.listeners).toEqual([]);
		await expect(wait()).rejects.toBeInstanceOf(ListenerRemovedError);
	});

	it('rejects a wait() that was already pending when its listener is removed', async () => {
		const { proc } = setup({ exit: false });
		const wait = proc.addShutdownListener(() => {}, { name: 'pool' });
		const pending = wait();
		wait.remove();
		await expect(pending).rejects.toThrow('Listener `pool` was removed before it was called');
	});

	it('remove() returns false once the listener was called', async () => {
		const { proc } = setup({ exit: false });
		const wait = proc.addWrapUpListener(() => {});
		await proc.shutdown();
		expect(wait.remove()).toBe(false);
	});
});

describe('a wait function knows its listener without own properties', () => {
	it('remove() and listenerName come from one shared prototype, and each acts on its own listener', async () => {
		const { proc } = setup({ exit: false });
		const ran: string[] = [];
		const a = proc.addWrapUpListener(() => void ran.push('a'), { name: 'a' });
		const b = proc.addWrapUpListener(() => void ran.push('b'), { name: 'b' });
		const c = proc.addShutdownListener(() => void ran.push('c'), { name: 'c' });
		expect(Object.keys(a)).toEqual([]);
		expect(Object.hasOwn(a, 'remove') || Object.hasOwn(a, 'listenerName')).toBe(false);
		expect(typeof a.remove).toBe('function');
		expect(a).toBeInstanceOf(Function);
		expect([a.length, a.remove.name]).toEqual([0, 'bound remove']);
		expect([a.listenerName, b.listenerName, c.listenerName]).toEqual(['a', 'b', 'c']);
		expect(b.remove()).toBe(true);
		expect(b.remove()).toBe(false);
		const report = await proc.shutdown();
		expect(ran).toEqual(['a', 'c']);
		expect(report.listeners.map((l) => l.name)).toEqual(['a', 'c']);
		await expect(b()).rejects.toBeInstanceOf(ListenerRemovedError);
		await expect(a()).resolves.toBeUndefined();
	});

	it('remove() of one proc removes from that proc only', async () => {
		const one = setup({ exit: false });
		const two = setup({ exit: false });
		const fn = vi.fn();
		const first = one.proc.addWrapUpListener(fn, { name: 'first' });
		const second = two.proc.addWrapUpListener(fn, { name: 'second' });
		expect(first.remove()).toBe(true);
		expect((await two.proc.shutdown()).listeners.map((l) => l.name)).toEqual(['second']);
		expect(fn).toHaveBeenCalledTimes(1);
		expect(second.remove()).toBe(false);
	});

	it('remove taken off its wait function still removes its own listener, as a callback too', async () => {
		const { proc } = setup({ exit: false });
		const ran: string[] = [];
		const kept = proc.addWrapUpListener(() => void ran.push('kept'), { name: 'kept' });
		const viaTimer = proc.addWrapUpListener(() => void ran.push('timer'), { name: 'timer' });
		const viaDestructuring = proc.addWrapUpListener(() => void ran.push('destructured'), { name: 'destructured' });
		const other = setup({ exit: false }).proc.addWrapUpListener(() => {}, { name: 'other' });
		// One remove function per listener, the same each time it is read, made only when first read.
		expect(viaTimer.remove).toBe(viaTimer.remove);
		expect(viaTimer.remove).not.toBe(viaDestructuring.remove);
		const { remove } = viaDestructuring;
		expect(remove()).toBe(true);
		expect(remove.call(other)).toBe(false);
		expect(other.remove()).toBe(true);
		await new Promise<void>((resolve) => {
			setTimeout(viaTimer.remove, 0);
			setTimeout(resolve, 5);
		});
		expect(viaTimer.remove()).toBe(false);
		const report = await proc.shutdown();
		expect(ran).toEqual(['kept']);
		expect(report.listeners.map((l) => l.name)).toEqual(['kept']);
		await expect(viaTimer()).rejects.toBeInstanceOf(ListenerRemovedError);
		expect(kept.remove()).toBe(false);
	});

	it('the getters of the shared prototype refuse anything but a wait function, without calling it', () => {
		const { proc } = setup({ exit: false });
		const wait = proc.addWrapUpListener(() => {}, { name: 'kept' });
		const prototype = Object.getPrototypeOf(wait);
		const remove = Object.getOwnPropertyDescriptor(prototype, 'remove')!.get!;
		const listenerName = Object.getOwnPropertyDescriptor(prototype, 'listenerName')!.get!;
		expect(() => remove.call(undefined)).toThrow(new TypeError('Expected `this` to be a wait function (`remove` is read from one), got `undefined` (undefined)'));
		expect(() => listenerName.call({})).toThrow(/`listenerName` is read from one\), got `\[Object\]` \(object\)/);
		// Another function is never called to find out whether it is one: it is refused as it is.
		let strangerCalls = 0;
		const stranger = function stranger() {
			strangerCalls += 1;
		};
		expect(() => remove.call(stranger)).toThrow(/got `\[Function stranger\]` \(function\)/);
		expect(strangerCalls).toBe(0);
		// Nor does one proc's prototype take another proc's wait function.
		const other = setup({ exit: false }).proc.addWrapUpListener(() => {}, { name: 'other' });
		expect(() => remove.call(other)).toThrow(TypeError);
		expect(() => listenerName.call(other)).toThrow(TypeError);
		// Nothing was removed.
		expect(other.remove()).toBe(true);
		expect(wait.remove()).toBe(true);
	});

	it('wait() returns the same promise whatever it is called with', async () => {
		const { proc } = setup({ exit: false });
		const wait = proc.addWrapUpListener(() => {});
		const promise = wait();
		expect(promise).toBeInstanceOf(Promise);
		const call = wait as unknown as (...args: unknown[]) => unknown;
		for (const argument of [undefined, null, 0, 'x', {}, Symbol('entry'), Symbol.for('graceful-proc.entry'), wait]) {
			expect(call(argument)).toBe(promise);
		}
		expect(call(1, 2, 3)).toBe(promise);
		expect(call.call({ other: true })).toBe(promise);
		await proc.shutdown();
		await expect(promise).resolves.toBeUndefined();
	});

	it('numbers anonymous listeners per phase at registration, whenever the name is first asked for', async () => {
		const { proc } = setup({ exit: false });
		const first = proc.addWrapUpListener(() => {});
		const dropped = proc.addWrapUpListener(() => {});
		const shutdownFirst = proc.addShutdownListener(() => {});
		expect(dropped.remove()).toBe(true);
		const third = proc.addWrapUpListener(() => {});
		const named = proc.addWrapUpListener(() => {}, { name: 'named' });
		const fourth = proc.addWrapUpListener(() => {});
		expect([fourth.listenerName, third.listenerName, first.listenerName, dropped.listenerName]).toEqual(['wrap-up#5', 'wrap-up#3', 'wrap-up#1', 'wrap-up#2']);
		expect([shutdownFirst.listenerName, named.listenerName]).toEqual(['shutdown#1', 'named']);
		const report = await proc.shutdown();
		expect(report.listeners.map((l) => l.name)).toEqual(['wrap-up#1', 'wrap-up#3', 'named', 'wrap-up#5', 'shutdown#1']);
		await expect(dropped()).rejects.toThrow('Listener `wrap-up#2` was removed before it was called');
	});
});

describe('names and timeouts of listeners', () => {
	it('names a listener after options.name, else fn.name, else its phase and number', async () => {
		const { proc } = setup({ exit: false });
		proc.addWrapUpListener(function httpServer() {});
		proc.addWrapUpListener(() => {});
		proc.addShutdownListener(() => {}, { name: 'db' });
		proc.addShutdownListener(() => {});
		const report = await proc.shutdown();
		expect(report.listeners.map((l) => `${l.phase}:${l.name}`)).toEqual([
			'wrap-up:httpServer',
			'wrap-up:wrap-up#2',
			'shutdown:db',
			'shutdown:shutdown#2',
		]);
	});

	it('reports a listener that outlives its own timeout as timed out, aborts its signal, and exits 1', async () => {
		vi.useFakeTimers();
		const { fake, proc } = setup();
		let signal: AbortSignal | undefined;
		const wait = proc.addShutdownListener(
			(ctx) => {
				signal = ctx.signal;
				return sleep(1000);
			},
			{ name: 'flush', timeout: 100 },
		);
		const report = proc.shutdown();
		await vi.advanceTimersByTimeAsync(101);
		expect(signal?.aborted).toBe(true);
		expect(signal?.reason).toBeInstanceOf(ListenerTimeoutError);
		await expect(wait()).rejects.toBeInstanceOf(ListenerTimeoutError);
		expect(await fake.exited).toBe(1);
		expect((await report).listeners[0]).toMatchObject({ name: 'flush', outcome: 'timeout', durationMs: 100 });
	});
});

describe('ctx.signal', () => {
	it('is already aborted when a listener first reads it after its timeout ran out', async () => {
		vi.useFakeTimers();
		const { proc } = setup({ exit: false });
		let context: { signal: AbortSignal } | undefined;
		proc.addWrapUpListener(
			(ctx) => {
				context = ctx;
				return sleep(500);
			},
			{ timeout: 100 },
		);
		void proc.shutdown();
		await vi.advanceTimersByTimeAsync(100);
		expect(context!.signal.aborted).toBe(true);
		expect(context!.signal.reason).toBeInstanceOf(ListenerTimeoutError);
	});

	it('is one signal per listener: a timeout aborts only that listener', async () => {
		vi.useFakeTimers();
		const { proc } = setup({ exit: false });
		const signals: AbortSignal[] = [];
		proc.addWrapUpListener((ctx) => (signals.push(ctx.signal), sleep(500)), { timeout: 100 });
		proc.addWrapUpListener((ctx) => (signals.push(ctx.signal), sleep(200)));
		void proc.shutdown();
		await vi.advanceTimersByTimeAsync(150);
		expect(signals.map((signal) => signal.aborted)).toEqual([true, false]);
	});
});

describe('the force-quit deadline', () => {
	it('forces exit 1 at timeToForceQuit, names every pending listener and aborts their signals', async () => {
		vi.useFakeTimers();
		const fake = createFakeProcess({ activeResources: ['TCPServerWrap'] });
		const { proc, errors } = setup({ fake, timeToForceQuit: 500, timeToWrapUp: 100 });
		let signal: AbortSignal | undefined;
		const hung = proc.addWrapUpListener(
			(ctx) => {
				signal = ctx.signal;
				return new Promise(() => {});
			},
			{ name: 'hung' },
		);
		proc.addShutdownListener(() => {}, { name: 'quick' });
		const reportPromise = proc.shutdown('SIGTERM');
		await vi.advanceTimersByTimeAsync(499);
		expect(fake.exitCode).toBeUndefined();
		await vi.advanceTimersByTimeAsync(1);
		expect(await fake.exited).toBe(1);
		const report = await reportPromise;
		expect(proc.state).toBe('forced');
		expect(report).toMatchObject({ outcome: 'forced', exitCode: 1, durationMs: 500, activeResources: ['TCPServerWrap'] });
		expect(report.listeners).toEqual([
			{ name: 'hung', phase: 'wrap-up', outcome: 'pending', durationMs: 500 },
			{ name: 'quick', phase: 'shutdown', outcome: 'ok', durationMs: 0 },
		]);
		expect(signal?.aborted).toBe(true);
		expect(signal?.reason).toBeInstanceOf(ForceQuitError);
		await expect(hung()).rejects.toBeInstanceOf(ForceQuitError);
		expect(errors.join('\n')).toMatch(/forced after 500 ms[\s\S]*pending\s+hung[\s\S]*TCPServerWrap/);
	});

	it('reports shutdown listeners that never got called because the wrap-up phase outlived the deadline as skipped', async () => {
		vi.useFakeTimers();
		const { proc } = setup({ exit: false, timeToForceQuit: 200, timeToWrapUp: 1000 });
		proc.addWrapUpListener(() => new Promise(() => {}), { name: 'stuck' });
		const never = proc.addShutdownListener(() => {}, { name: 'never' });
		const report = proc.shutdown();
		await vi.advanceTimersByTimeAsync(200);
		expect((await report).listeners.map((l) => [l.name, l.outcome, l.durationMs])).toEqual([
			['stuck', 'pending', 200],
			['never', 'skipped', 0],
		]);
		// Its wait() settles too, instead of hanging: it was forced before it ran.
		await expect(never()).rejects.toThrow(/Listener `never` was never called: the shutdown was forced first/);
		await expect(never()).rejects.toBeInstanceOf(ForceQuitError);
	});

	it('ignores a listener that settles after the forced exit', async () => {
		vi.useFakeTimers();
		const { proc } = setup({ exit: false, timeToForceQuit: 100 });
		proc.addWrapUpListener(() => sleep(150), { name: 'late' });
		const report = proc.shutdown();
		await vi.advanceTimersByTimeAsync(200);
		expect((await report).listeners[0]?.outcome).toBe('pending');
		expect(proc.state).toBe('forced');
	});
});

describe('repeated signals', () => {
	it('forces the exit at once on a second signal', async () => {
		vi.useFakeTimers();
		const { fake, proc } = setup();
		proc.addWrapUpListener(() => new Promise(() => {}), { name: 'slow' });
		fake.kill('SIGINT');
		await vi.advanceTimersByTimeAsync(150);
		fake.kill('SIGINT');
		expect(await fake.exited).toBe(1);
		expect(proc.state).toBe('forced');
	});

	it('ignores a duplicate within 100 ms (one Ctrl+C delivered by the terminal and by npm)', async () => {
		vi.useFakeTimers();
		const { fake, proc } = setup();
		proc.addWrapUpListener(() => sleep(300));
		fake.kill('SIGINT');
		await vi.advanceTimersByTimeAsync(99);
		fake.kill('SIGINT');
		expect(proc.state).toBe('wrapping-up');
		await vi.advanceTimersByTimeAsync(300);
		expect(await fake.exited).toBe(0);
	});

	it('lets the first signal join a sequence started by hand rather than force it', async () => {
		vi.useFakeTimers();
		const { fake, proc } = setup();
		proc.addWrapUpListener(() => sleep(300));
		void proc.shutdown('deploy');
		await vi.advanceTimersByTimeAsync(150);
		fake.kill('SIGTERM');
		expect(proc.state).toBe('wrapping-up');
		await vi.advanceTimersByTimeAsync(200);
		expect(await fake.exited).toBe(0);
	});
});

describe('listeners added during shutdown', () => {
	it('calls a wrap-up listener added while shutting down at once and awaits it', async () => {
		vi.useFakeTimers();
		const { fake, proc } = setup();
		const late = vi.fn(() => sleep(100));
		proc.addShutdownListener(() => {
			proc.addWrapUpListener(late, { name: 'late' });
		});
		const report = proc.shutdown();
		await vi.advanceTimersByTimeAsync(0);
		expect(late).toHaveBeenCalledTimes(1);
		expect(fake.exitCode).toBeUndefined();
		await vi.advanceTimersByTimeAsync(100);
		expect(await fake.exited).toBe(0);
		expect((await report).listeners.map((l) => l.name)).toContain('late');
	});

	it('runs a shutdown listener added during wrap-up in the shutdown phase', async () => {
		const { proc } = setup({ exit: false });
		const order: string[] = [];
		proc.addWrapUpListener(async () => {
			proc.addShutdownListener(() => void order.push(`late shutdown in ${proc.state}`));
			await sleep(10);
			order.push('wrap-up done');
		});
		await proc.shutdown();
		expect(order).toEqual(['wrap-up done', 'late shutdown in shutting-down']);
	});

	it('calls a listener added after the sequence ended at once, and its wait resolves', async () => {
		const { proc } = setup({ exit: false });
		await proc.shutdown();
		const fn = vi.fn();
		await proc.addShutdownListener(fn)();
		expect(fn).toHaveBeenCalledTimes(1);
	});
});

describe('shutdown() by hand', () => {
	it('is idempotent: every call returns the same promise', async () => {
		const { proc } = setup({ exit: false });
		const a = proc.shutdown('one');
		const b = proc.shutdown('two');
		expect(a).toBe(b);
		expect((await a).reason).toBe('one');
	});

	it('aborts proc.signal with the reason before any listener runs', async () => {
		const { proc } = setup({ exit: false });
		let abortedFirst = false;
		proc.addWrapUpListener(() => {
			abortedFirst = proc.signal.aborted;
		});
		expect(proc.signal.aborted).toBe(false);
		void proc.shutdown('deploy');
		expect(proc.signal.aborted).toBe(true);
		expect(proc.signal.reason).toBe('deploy');
		expect(abortedFirst).toBe(true);
	});

	it('reports the state of each phase as it goes', async () => {
		const { proc } = setup({ exit: false });
		const states: string[] = [];
		proc.addWrapUpListener(() => void states.push(proc.state));
		proc.addShutdownListener(() => void states.push(proc.state));
		expect(proc.state).toBe('running');
		await proc.shutdown();
		expect([...states, proc.state]).toEqual(['wrapping-up', 'shutting-down', 'done']);
	});

	it('hands the report to onReport before exiting', async () => {
		const onReport = vi.fn();
		const { fake, proc } = setup({ onReport });
		let exitedBeforeReport = true;
		onReport.mockImplementation(() => {
			exitedBeforeReport = fake.exitCode !== undefined;
		});
		proc.addWrapUpListener(() => {});
		await proc.shutdown('x');
		expect(onReport).toHaveBeenCalledWith(expect.objectContaining({ reason: 'x', outcome: 'clean', exitCode: 0 }));
		expect(exitedBeforeReport).toBe(false);
		expect(await fake.exited).toBe(0);
	});
});

describe('process listeners come with the first listener and go with the last', () => {
	it('installs nothing until the first listener and removes everything with the last', () => {
		const { fake, proc } = setup();
		expect(fake.listenedEvents()).toEqual([]);
		const a = proc.addWrapUpListener(() => {});
		const b = proc.addShutdownListener(() => {});
		expect(fake.listenedEvents().sort()).toEqual(['SIGINT', 'SIGTERM']);
		a.remove();
		expect(fake.listenedEvents().sort()).toEqual(['SIGINT', 'SIGTERM']);
		b.remove();
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('gives the signal back to Node once nothing listens: the fake dies of SIGTERM', async () => {
		const { fake, proc } = setup();
		proc.addWrapUpListener(() => {}).remove();
		fake.kill('SIGTERM');
		expect(await fake.exited).toBe(143);
		expect(fake.signalCode).toBe('SIGTERM');
	});

	it('listens to the configured signals only', async () => {
		const { fake, proc } = setup({ signals: ['SIGUSR1'] });
		proc.addWrapUpListener(() => {});
		expect(fake.listenedEvents()).toEqual(['SIGUSR1']);
		fake.kill('SIGUSR1');
		expect(await fake.exited).toBe(0);
	});

	it('uninstalls its handlers when left running after the sequence (exit: false)', async () => {
		const { fake, proc } = setup({ exit: false });
		proc.addWrapUpListener(() => {});
		await proc.shutdown();
		expect(fake.listenedEvents()).toEqual([]);
	});
});

describe('platforms: Windows and PM2', () => {
	it('adds SIGBREAK to the default signals on Windows', async () => {
		const fake = createFakeProcess({ platform: 'win32' });
		const { proc } = setup({ fake });
		proc.addWrapUpListener(() => {});
		expect(fake.listenedEvents().sort()).toEqual(['SIGBREAK', 'SIGINT', 'SIGTERM']);
		fake.kill('SIGBREAK');
		expect(await fake.exited).toBe(0);
		expect(proc.state).toBe('done');
	});

	it("starts the sequence on PM2's 'shutdown' message when the process has an IPC channel", async () => {
		const fake = createFakeProcess({ ipc: true });
		const { proc } = setup({ fake });
		const wait = proc.addWrapUpListener(() => {});
		fake.message('not for us');
		expect(proc.state).toBe('running');
		fake.message('shutdown');
		await wait();
		expect(await fake.exited).toBe(0);
	});

	it('listens for no IPC message without a channel, or with pm2: false', () => {
		const { fake, proc } = setup();
		proc.addWrapUpListener(() => {});
		expect(fake.listenedEvents()).not.toContain('message');
		const ipc = createFakeProcess({ ipc: true });
		setup({ fake: ipc, pm2: false }).proc.addWrapUpListener(() => {});
		expect(ipc.listenedEvents()).not.toContain('message');
	});
});

describe('handleErrors', () => {
	it('turns an uncaught exception into a graceful shutdown with exit code 1', async () => {
		const { fake, proc, errors } = setup({ handleErrors: true });
		const ran = vi.fn();
		proc.addShutdownListener(ran, { name: 'db' });
		fake.emit('uncaughtException', new Error('kaboom'));
		expect(await fake.exited).toBe(1);
		expect(ran).toHaveBeenCalledOnce();
		expect(errors.join('\n')).toMatch(/uncaughtException, shutting down: Error: kaboom/);
	});

	it('turns an unhandled rejection into a graceful shutdown with exit code 1', async () => {
		const { fake, proc } = setup({ handleErrors: true });
		proc.addShutdownListener(() => {});
		fake.emit('unhandledRejection', new Error('lost promise'));
		expect(await fake.exited).toBe(1);
	});

	it('is off by default: Node keeps its own behaviour', () => {
		const { fake, proc } = setup();
		proc.addShutdownListener(() => {});
		expect(fake.listenedEvents()).not.toContain('uncaughtException');
		expect(fake.listenedEvents()).not.toContain('unhandledRejection');
	});
});

describe('diagnostics', () => {
	it('writes a diagnostic report on the opt-in signal (SIGUSR2 by default) and keeps running', () => {
		const fake = createFakeProcess();
		const writeReport = vi.fn(() => 'report.json');
		Object.assign(fake, { report: { writeReport } });
		const { proc, errors } = setup({ fake, diagnosticReport: true });
		proc.addWrapUpListener(() => {});
		fake.kill('SIGUSR2');
		expect(writeReport).toHaveBeenCalledOnce();
		expect(proc.state).toBe('running');
		expect(errors).toEqual(['graceful-proc: diagnostic report written to report.json']);
	});

	it('says so when the runtime writes no report (Deno: writeReport() returns nothing)', () => {
		const fake = createFakeProcess();
		Object.assign(fake, { report: { writeReport: () => '' } });
		const { proc, errors } = setup({ fake, diagnosticReport: true });
		proc.addWrapUpListener(() => {});
		fake.kill('SIGUSR2');
		expect(proc.state).toBe('running');
		expect(errors).toEqual(['graceful-proc: no diagnostic report: this runtime wrote none']);
	});
});

describe('configure()', () => {
	it('changes options before the sequence and reinstalls handlers', async () => {
		const { fake, proc } = setup();
		proc.addWrapUpListener(() => {});
		proc.configure({ signals: ['SIGHUP'], handleErrors: true });
		expect(fake.listenedEvents().sort()).toEqual(['SIGHUP', 'uncaughtException', 'unhandledRejection']);
		fake.kill('SIGHUP');
		expect(await fake.exited).toBe(0);
	});

	it('refuses once shutdown has started', async () => {
		const { proc } = setup({ exit: false });
		await proc.shutdown();
		expect(() => proc.configure({ timeToForceQuit: 1 })).toThrow(/once shutdown has started/);
	});
});

describe('a forced report says what forced it, and which listeners never ran', () => {
	it("says forcedBy: 'deadline' in the report and the summary line when the deadline passes", async () => {
		vi.useFakeTimers();
		const { fake, proc, errors } = setup({ timeToForceQuit: 300 });
		proc.addWrapUpListener(() => new Promise(() => {}), { name: 'stuck' });
		const report = proc.shutdown('SIGTERM');
		await vi.advanceTimersByTimeAsync(300);
		expect(await fake.exited).toBe(1);
		expect(await report).toMatchObject({ outcome: 'forced', forcedBy: 'deadline' });
		expect(errors[0]).toMatch(/^graceful-proc: shutdown forced after 300 ms \(reason: SIGTERM\), exit code 1, forcedBy: deadline$/m);
	});

	it("says forcedBy: 'signal' and lists a shutdown listener as skipped after a second Ctrl+C during the wrap-up phase", async () => {
		vi.useFakeTimers();
		const { fake, proc, errors } = setup({ timeToWrapUp: 5000 });
		proc.addWrapUpListener(() => new Promise(() => {}), { name: 'http' });
		proc.addShutdownListener(() => {}, { name: 'db' });
		const report = proc.shutdown();
		fake.kill('SIGINT');
		await vi.advanceTimersByTimeAsync(150);
		fake.kill('SIGINT');
		expect(await fake.exited).toBe(1);
		expect(await report).toMatchObject({
			outcome: 'forced',
			forcedBy: 'signal',
			listeners: [
				{ name: 'http', outcome: 'pending' },
				{ name: 'db', outcome: 'skipped', durationMs: 0 },
			],
		});
		expect(errors.join('\n')).toMatch(/forcedBy: signal\n\s+pending\s+http \(wrap-up, 150 ms\)\n\s+skipped\s+db \(shutdown, 0 ms\)/);
	});

	it('has no forcedBy when the sequence was not forced', async () => {
		const { proc } = setup({ exit: false });
		proc.addWrapUpListener(() => {});
		expect(await proc.shutdown()).not.toHaveProperty('forcedBy');
	});
});

describe('the exit code the application set is kept', () => {
	function appSetup(exitCode: number | string | undefined, options: Omit<ProcOptions, 'process'> = {}) {
		const app = new AppProcess(exitCode);
		const errors: string[] = [];
		const proc = createProc({ process: app, logger: { error: (m) => errors.push(m) }, ...options });
		return { app, proc, errors };
	}

	it('exits with a non-zero process.exitCode after a clean shutdown, and the outcome stays clean', async () => {
		const { app, proc, errors } = appSetup(3);
		proc.addShutdownListener(() => {});
		const report = await proc.shutdown('done');
		expect(await app.exited).toBe(3);
		expect(report).toMatchObject({ outcome: 'clean', exitCode: 3 });
		expect(errors).toEqual([]);
	});

	it('keeps it when a listener fails, and when the sequence is forced', async () => {
		const failed = appSetup(4);
		failed.proc.addShutdownListener(() => Promise.reject(new Error('x')));
		expect(await failed.proc.shutdown()).toMatchObject({ outcome: 'failed', exitCode: 4 });
		expect(await failed.app.exited).toBe(4);

		vi.useFakeTimers();
		const forced = appSetup(5, { timeToForceQuit: 100 });
		forced.proc.addShutdownListener(() => new Promise(() => {}));
		const report = forced.proc.shutdown();
		await vi.advanceTimersByTimeAsync(100);
		expect(await report).toMatchObject({ outcome: 'forced', exitCode: 5 });
		expect(await forced.app.exited).toBe(5);
	});

	it('sees a code a listener sets during the shutdown, and a numeric string', async () => {
		const { app, proc } = appSetup(undefined);
		proc.addShutdownListener(() => {
			app.exitCode = '7';
		});
		expect((await proc.shutdown()).exitCode).toBe(7);
		expect(await app.exited).toBe(7);
	});

	it('exits 0 or 1 as usual when the code is 0 or unset', async () => {
		const zero = appSetup(0);
		zero.proc.addShutdownListener(() => {});
		await zero.proc.shutdown();
		expect(await zero.app.exited).toBe(0);
		const failing = appSetup(undefined);
		failing.proc.addShutdownListener(() => {
			throw new Error('x');
		});
		await failing.proc.shutdown();
		expect(await failing.app.exited).toBe(1);
	});
});

describe('shutdown(reason, { exitCode })', () => {
	it('starts the sequence with that code; the outcome is failed, and the summary says so', async () => {
		const { fake, proc, errors } = setup();
		proc.addShutdownListener(() => {}, { name: 'db' });
		const report = await proc.shutdown('config invalid', { exitCode: 78 });
		expect(report).toMatchObject({ reason: 'config invalid', outcome: 'failed', exitCode: 78 });
		expect(await fake.exited).toBe(78);
		expect(errors[0]).toMatch(/shutdown failed in \d+ ms \(reason: config invalid\), exit code 78/);
	});

	it('wins over the application’s process.exitCode and over a failed listener, and is kept when forced', async () => {
		const app = new AppProcess(3);
		const proc = createProc({ process: app, logger: false });
		proc.addShutdownListener(() => Promise.reject(new Error('x')));
		expect((await proc.shutdown('x', { exitCode: 9 })).exitCode).toBe(9);
		expect(await app.exited).toBe(9);

		vi.useFakeTimers();
		const { fake, proc: forced } = setup({ timeToForceQuit: 50 });
		forced.addShutdownListener(() => new Promise(() => {}));
		void forced.shutdown('x', { exitCode: 2 });
		await vi.advanceTimersByTimeAsync(50);
		expect(await fake.exited).toBe(2);
	});

	it('exitCode 0 leaves the code to the listeners; a later call gives a code to a sequence started without one', async () => {
		const { fake, proc } = setup();
		proc.addWrapUpListener(() => sleep(10));
		const first = proc.shutdown('deploy', { exitCode: 0 });
		const second = proc.shutdown('again', { exitCode: 6 });
		expect(second).toBe(first);
		expect(await first).toMatchObject({ reason: 'deploy', exitCode: 6 });
		expect(await fake.exited).toBe(6);
	});

	it.each([
		[null, TypeError, /Expected `options` to be an object, got `null`/],
		[{ exitCode: null }, TypeError, /`options.exitCode` to be a finite integer >= 0, got `null`/],
		[{ exitCode: '3' }, TypeError, /`options.exitCode` to be a finite integer >= 0, got `"3"` \(string\)/],
		[{ exitCode: 1.5 }, RangeError, /`options.exitCode` to be a finite integer >= 0, got `1.5`/],
		[{ exitCode: -1 }, RangeError, /`options.exitCode`.*got `-1`/],
		[{ exitCode: 256 }, RangeError, /`options.exitCode` to be a finite integer <= 255 \(an exit code\), got `256`/],
		[{ code: 3 }, TypeError, /Unknown option `options.code`/],
	])('refuses %o without starting anything', (options, type, message) => {
		const { fake, proc } = setup();
		proc.addWrapUpListener(() => {});
		expect(() => proc.shutdown('x', options as never)).toThrow(type);
		expect(() => proc.shutdown('x', options as never)).toThrow(message);
		expect(proc.state).toBe('running');
		expect(proc.signal.aborted).toBe(false);
		expect(fake.exitCode).toBeUndefined();
	});
});

describe('whatever the application throws, the sequence neither crashes nor hangs', () => {
	it.each(hostileValues())('lists every listener in the summary when one fails with %s', async (_label, value) => {
		const { fake, proc, errors } = setup();
		proc.addWrapUpListener(() => Promise.reject(new Error('first')), { name: 'before' });
		proc.addWrapUpListener(
			() => {
				throw value;
			},
			{ name: 'hostile' },
		);
		proc.addShutdownListener(() => Promise.reject(value), { name: 'hostile-async' });
		proc.addShutdownListener(() => Promise.reject(new Error('last')), { name: 'after' });
		const report = await proc.shutdown('SIGTERM');
		expect(await fake.exited).toBe(1);
		expect(report.outcome).toBe('failed');
		const summary = errors.join('\n');
		expect(summary).toMatch(/error\s+before \(wrap-up.*Error: first/);
		expect(summary).toMatch(/error\s+hostile \(wrap-up, \d+ ms\): \S/);
		expect(summary).toMatch(/error\s+hostile-async \(shutdown, \d+ ms\): \S/);
		expect(summary).toMatch(/error\s+after \(shutdown.*Error: last/);
		// The report still serialises.
		expect(() => JSON.stringify(report)).not.toThrow();
	});

	it.each(hostileValues())('shuts down gracefully on an uncaught exception that is %s (handleErrors)', async (_label, value) => {
		const { fake, proc, errors } = setup({ handleErrors: true });
		const ran = vi.fn();
		proc.addShutdownListener(ran, { name: 'db' });
		fake.emit('uncaughtException', value);
		expect(await fake.exited).toBe(1);
		expect(ran).toHaveBeenCalledOnce();
		expect(errors[0]).toMatch(/^graceful-proc: uncaughtException, shutting down: \S/);
	});

	it.each(hostileValues())('shows a reason that is %s in the summary', async (_label, value) => {
		const { proc, errors } = setup({ exit: false });
		proc.addShutdownListener(() => Promise.reject(new Error('x')), { name: 'db' });
		await proc.shutdown(value);
		expect(errors.join('\n')).toMatch(/shutdown failed in \d+ ms \(reason: .+\), exit code 1\n[\s\S]*error\s+db/);
	});

	const hostileHooks: Array<[string, () => unknown]> = [
		...hostileValues().map(([label, value]): [string, () => unknown] => [
			`throws ${label}`,
			() => {
				throw value;
			},
		]),
		['returns a rejected promise', () => Promise.reject(new Error('async hook failed'))],
		['returns a promise rejected with Object.create(null)', () => Promise.reject(Object.create(null))],
	];

	it.each(hostileHooks)('keeps a clean exit 0 and resolves shutdown() when onReport %s', async (_label, hook) => {
		const { fake, proc, errors } = setup({ onReport: hook as never });
		proc.addShutdownListener(() => {});
		const report = await proc.shutdown();
		expect(report).toMatchObject({ outcome: 'clean', exitCode: 0 });
		expect(await fake.exited).toBe(0);
		await sleep(1);
		expect(errors.join('\n')).toMatch(/graceful-proc: onReport (threw|rejected): \S/);
	});

	it.each(hostileHooks)('keeps exit 1 with handleErrors, and resolves shutdown(), when both the logger and onReport %s', async (_label, hook) => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, logger: { error: hook as never }, onReport: hook as never, handleErrors: true });
		const ran = vi.fn();
		proc.addShutdownListener(ran);
		fake.emit('uncaughtException', new Error('crash'));
		expect(await fake.exited).toBe(1);
		expect(ran).toHaveBeenCalledOnce();
		expect((await proc.shutdown()).outcome).toBe('failed');
	});

	it.each(hostileHooks)('keeps a clean exit 0, and resolves shutdown(), when both the logger and onReport %s', async (_label, hook) => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, logger: { error: hook as never }, onReport: hook as never });
		proc.addShutdownListener(() => {});
		expect(await proc.shutdown()).toMatchObject({ outcome: 'clean', exitCode: 0 });
		expect(await fake.exited).toBe(0);
	});

	it('keeps a clean exit 0 when the logger and onReport both throw (exit: false leaves no unhandled rejection)', async () => {
		const unhandled = vi.fn();
		process.on('unhandledRejection', unhandled);
		try {
			const proc = createProc({
				process: createFakeProcess(),
				exit: false,
				logger: { error: () => Promise.reject(new Error('logger')) },
				onReport: () => Promise.reject(new Error('onReport')),
			});
			proc.addShutdownListener(() => {});
			expect((await proc.shutdown()).exitCode).toBe(0);
			await sleep(20);
			expect(unhandled).not.toHaveBeenCalled();
		} finally {
			process.off('unhandledRejection', unhandled);
		}
	});
});

describe('the failure summary shows where an Error reason came from', () => {
	it("prints the stack of run()'s main when it throws", async () => {
		const { fake, proc, errors } = setup();
		proc.addShutdownListener(() => {}, { name: 'db' });
		await run(
			function main() {
				throw new Error('main failed');
			},
			{ proc },
		);
		expect(await fake.exited).toBe(1);
		expect(errors[0]).toMatch(/^graceful-proc: shutdown failed in \d+ ms \(reason: Error: main failed\), exit code 1\n\s+at main \(.*proc\.test\.ts:\d+:\d+\)/);
	});

	it('prints no stack for a signal name', async () => {
		const { proc, errors } = setup({ exit: false });
		proc.addShutdownListener(() => Promise.reject(new Error('x')), { name: 'db' });
		await proc.shutdown('SIGTERM');
		expect(errors[0]).toMatch(/exit code 1\n\s+error\s+db/);
	});
});

describe('many listeners', () => {
	it('ends 200,000 synchronous listeners clean with the default times', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, logger: false });
		for (let i = 0; i < 200_000; i++) proc.addWrapUpListener(() => {});
		proc.addShutdownListener(() => {}, { name: 'db' });
		const report = await proc.shutdown();
		expect(report.outcome).toBe('clean');
		expect(report.listeners).toHaveLength(200_001);
		// Settling each one costs O(1): the whole sequence fits the default deadline with room to spare (it
		// used to take about 7 s, every settlement scanning the listeners still running).
		expect(report.durationMs).toBeLessThan(5500);
		expect(await fake.exited).toBe(0);
	});

	it('forces 100,000 pending listeners with a report that names them all and a summary of one screen', async () => {
		vi.useFakeTimers();
		const { fake, proc, errors } = setup({ timeToForceQuit: 1000 });
		for (let i = 0; i < 100_000; i++) proc.addWrapUpListener(() => new Promise(() => {}), { name: `job-${i}` });
		proc.addShutdownListener(() => {}, { name: 'db' });
		const report = proc.shutdown();
		await vi.advanceTimersByTimeAsync(1000);
		expect(await fake.exited).toBe(1);
		const { listeners } = await report;
		expect(listeners).toHaveLength(100_001);
		expect(listeners.filter((l) => l.outcome === 'pending')).toHaveLength(100_000);
		expect(listeners.at(-1)).toEqual({ name: 'db', phase: 'shutdown', outcome: 'skipped', durationMs: 0 });
		const lines = errors[0]!.split('\n');
		expect(lines.length).toBeLessThan(30);
		expect(lines).toContain('  pending job-0 (wrap-up, 1000 ms)');
		expect(lines).toContain('  … and 99981 more: 99980 pending, 1 skipped');
	});
});

describe('the watchdog option', () => {
	it.each([null, 'never', false, 1])('refuses `watchdog: %o` with a TypeError naming it, at createProc() and configure()', (value) => {
		const message = /Expected `options.watchdog` to be 'resident', 'at-shutdown' or 'off'/;
		expect(() => createProc({ process: createFakeProcess(), watchdog: value as never })).toThrow(message);
		const proc = createProc({ process: createFakeProcess(), exit: false });
		expect(() => proc.configure({ watchdog: value as never })).toThrow(TypeError);
		expect(() => proc.configure({ watchdog: 'at-shutdown' })).not.toThrow();
		expect(() => proc.configure({ watchdog: 'off' })).not.toThrow();
	});
});
