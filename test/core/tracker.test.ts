import fc from 'fast-check';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { createProc, NOT_ACCEPTING, NotAcceptingError, type ShutdownReport, type TrackedUnit, track as trackExport, TrackedWorkCutError } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';

afterEach(() => {
	vi.useRealTimers();
});

function setUp(options: { timeToForceQuit?: number; timeToWrapUp?: number; timeForFinal?: number } = {}) {
	const fake = createFakeProcess();
	let report: ShutdownReport | undefined;
	const proc = createProc({ process: fake, logger: false, onReport: (r) => (report = r), ...options });
	return { fake, proc, report: () => report };
}

const sleep = (ms: number, signal?: AbortSignal) =>
	new Promise<void>((resolve, reject) => {
		const timer = setTimeout(resolve, ms);
		signal?.addEventListener('abort', () => {
			clearTimeout(timer);
			reject(signal.reason);
		});
	});

describe('tracked work: the wrap-up phase waits for the units in flight', () => {
	it('a unit in hand at SIGTERM finishes before the shutdown phase starts, and the process exits 0', async () => {
		vi.useFakeTimers();
		const { fake, proc, report } = setUp({ timeToForceQuit: 10_000, timeToWrapUp: 5000 });
		const log: string[] = [];
		const t0 = Date.now();
		const job = proc.track(async () => {
			await sleep(3000);
			log.push(`job done ${Date.now() - t0}`);
			return 42;
		}, { name: 'job 1' });
		proc.addShutdownListener(() => void log.push(`db ${Date.now() - t0}`), { name: 'db' });
		await vi.advanceTimersByTimeAsync(1000);
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(2000);
		expect(await job).toBe(42);
		expect(await fake.exited).toBe(0);
		expect(log).toEqual(['job done 3000', 'db 3000']);
		expect(report()).toMatchObject({ outcome: 'clean', listeners: [{ name: 'tracked work', phase: 'wrap-up', outcome: 'ok', durationMs: 2000 }, { name: 'db' }] });
	});

	it('once the sequence has started no unit starts: fn is not called and the promise rejects with NotAcceptingError', async () => {
		const { fake, proc } = setUp();
		proc.addShutdownListener(() => {}, { name: 'db' });
		const called = vi.fn();
		fake.kill('SIGTERM');
		// The cheap test for a consumer loop: proc.signal is aborted from the trigger on.
		expect(proc.signal.aborted).toBe(true);
		const refused = proc.track(called, { name: 'job 7' });
		await expect(refused).rejects.toBeInstanceOf(NotAcceptingError);
		await expect(refused).rejects.toMatchObject({ code: NOT_ACCEPTING, reason: 'SIGTERM', message: 'Tracked unit `job 7` was not started: the shutdown has begun' });
		expect(called).not.toHaveBeenCalled();
		expect(await fake.exited).toBe(0);
		// After the end too.
		await expect(proc.track(called)).rejects.toMatchObject({ name: 'NotAcceptingError', code: 'GRACEFUL_PROC_NOT_ACCEPTING' });
		expect(called).not.toHaveBeenCalled();
	});

	it('a unit tried from an abort listener of proc.signal is refused too', async () => {
		const { fake, proc } = setUp();
		proc.addShutdownListener(() => {}, { name: 'db' });
		let tried: Promise<unknown> | undefined;
		// A block body: Node's EventTarget reports a rejected promise that a listener returns as an uncaught exception.
		proc.signal.addEventListener('abort', () => {
			tried = proc.track(() => 'late');
		});
		fake.kill('SIGTERM');
		await expect(tried).rejects.toBeInstanceOf(NotAcceptingError);
	});

	it("the listener 'tracked work' appears only once a unit was tracked, and a tracker with nothing in flight ends at once", async () => {
		const unused = setUp();
		unused.proc.addShutdownListener(() => {}, { name: 'db' });
		unused.fake.kill('SIGTERM');
		await unused.fake.exited;
		expect(unused.report()!.listeners.map((l) => l.name)).toEqual(['db']);

		const { fake, proc, report } = setUp();
		expect(fake.listenedEvents()).toEqual([]);
		await proc.track(() => 'done at once');
		// Registering the listener installed the handlers, as any listener does.
		expect(fake.listenedEvents()).toContain('SIGTERM');
		fake.kill('SIGTERM');
		expect(await fake.exited).toBe(0);
		expect(report()!.listeners).toMatchObject([{ name: 'tracked work', outcome: 'ok' }]);
	});

	it("returns fn's value, rejects with its error, turns a synchronous throw into a rejection; a failed unit does not fail the sequence", async () => {
		const { fake, proc, report } = setUp();
		expect(await proc.track(() => 'sync value')).toBe('sync value');
		const boom = new Error('boom');
		await expect(proc.track(() => Promise.reject(boom))).rejects.toBe(boom);
		await expect(
			proc.track(() => {
				throw boom;
			}),
		).rejects.toBe(boom);
		fake.kill('SIGTERM');
		expect(await fake.exited).toBe(0);
		expect(report()!.outcome).toBe('clean');
	});

	it('each unit gets its name (options.name, else fn.name, else unit#N); units in flight have signals of their own', async () => {
		const { proc } = setUp();
		const seen: string[] = [];
		const signals = new Set<AbortSignal>();
		let release!: () => void;
		const held = new Promise<void>((resolve) => (release = resolve));
		const take = async ({ name, signal }: { name: string; signal: AbortSignal }) => {
			seen.push(name);
			signals.add(signal);
			await held;
		};
		const units = [
			proc.track(take, { name: 'job 1' }),
			proc.track(function namedJob(unit) {
				return take(unit);
			}),
			proc.track((unit) => take(unit)),
		];
		release();
		await Promise.all(units);
		expect(seen).toEqual(['job 1', 'namedJob', 'unit#3']);
		expect(signals.size).toBe(3);
		for (const signal of signals) expect(signal.aborted).toBe(false);
	});

	it("a signal is handed on to a later unit only when nothing listens to it: a listener a unit left never hears another's abort", async () => {
		vi.useFakeTimers();
		const { fake, proc } = setUp({ timeToForceQuit: 4000 });
		const heard: string[] = [];
		let first: AbortSignal | undefined;
		// Leaves a listener behind on its signal.
		await proc.track(({ signal }) => {
			first = signal;
			signal.addEventListener('abort', () => heard.push('unit 1'));
		});
		// Reads its signal and leaves nothing: its controller may serve the next unit.
		let second: AbortSignal | undefined;
		await proc.track(({ signal }) => void (second = signal));
		let third: AbortSignal | undefined;
		const late = proc.track(({ signal }) => {
			third = signal;
			signal.addEventListener('abort', () => heard.push('unit 3'));
			return sleep(60_000, signal);
		});
		late.catch(() => {});
		expect(third).not.toBe(first);
		expect(third).toBe(second);
		fake.kill('SIGTERM');
		await vi.runAllTimersAsync();
		expect(heard).toEqual(['unit 3']);
		expect(await fake.exited).toBe(1);
	});
});

describe('tracked work: a unit longer than the deadline is aborted through its signal and named in the report', () => {
	it('the signal aborts 1 s before the deadline; a unit that stops then is named as aborted, exit code 1', async () => {
		vi.useFakeTimers();
		const { fake, proc, report } = setUp({ timeToForceQuit: 5000 });
		const t0 = Date.now();
		let abortedAt: number | undefined;
		let reason: unknown;
		const job = proc.track(
			async ({ signal }) => {
				signal.addEventListener('abort', () => {
					abortedAt = Date.now() - t0;
					reason = signal.reason;
				});
				await sleep(60_000, signal);
			},
			{ name: 'job 12' },
		);
		job.catch(() => {});
		const quick = proc.track(() => sleep(500), { name: 'job 13' });
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(3999);
		expect(abortedAt).toBeUndefined();
		await vi.advanceTimersByTimeAsync(1);
		expect(abortedAt).toBe(4000);
		expect(reason).toBeInstanceOf(TrackedWorkCutError);
		expect((reason as Error).message).toBe('Tracked unit `job 12` was cut: the force-quit deadline is 1000 ms away');
		await expect(job).rejects.toBe(reason);
		await quick;
		expect(await fake.exited).toBe(1);
		const row = report()!.listeners.find((l) => l.name === 'tracked work')!;
		expect(report()!.outcome).toBe('failed');
		expect(row).toMatchObject({ outcome: 'error', durationMs: 4000 });
		expect(row.error).toBeInstanceOf(TrackedWorkCutError);
		expect(row.error).toMatchObject({ units: ['job 12'], running: [], message: 'Tracked work cut by the deadline, 1 unit: `job 12` (aborted, then ended)' });
		// Through JSON too, as a log pipeline gets it.
		expect(JSON.stringify(report())).toContain('job 12');
	});

	it('a unit that ignores its signal is named as still running just before the deadline; the sequence is not forced for it', async () => {
		vi.useFakeTimers();
		const { fake, proc, report } = setUp({ timeToForceQuit: 2000 });
		const t0 = Date.now();
		void proc.track(() => new Promise(() => {}), { name: 'stuck job' });
		void proc.track(({ signal }) => sleep(60_000, signal), { name: 'polite job' }).catch(() => {});
		fake.kill('SIGTERM');
		await vi.runAllTimersAsync();
		expect(await fake.exited).toBe(1);
		expect(report()!.durationMs).toBe(1900);
		expect(report()).toMatchObject({ outcome: 'failed', exitCode: 1 });
		expect(report()!.forcedBy).toBeUndefined();
		expect(report()!.listeners[0]!.error).toMatchObject({
			units: ['stuck job', 'polite job'],
			running: ['stuck job'],
			message: 'Tracked work cut by the deadline, 2 units: `stuck job` (still running), `polite job` (aborted, then ended)',
		});
	});

	it('with a short deadline the tail is a quarter of the time there is', async () => {
		vi.useFakeTimers();
		const { fake, proc } = setUp({ timeToForceQuit: 400, timeToWrapUp: 400 });
		const t0 = Date.now();
		let abortedAt: number | undefined;
		void proc.track(({ signal }) => sleep(60_000, signal).catch(() => void (abortedAt = Date.now() - t0)));
		fake.kill('SIGTERM');
		await vi.runAllTimersAsync();
		await fake.exited;
		expect(abortedAt).toBe(300);
	});

	it('with final listeners, the units are cut before the moment the others are forced', async () => {
		vi.useFakeTimers();
		const { fake, proc, report } = setUp({ timeToForceQuit: 3000, timeForFinal: 1000 });
		const t0 = Date.now();
		let abortedAt: number | undefined;
		let finalSaw: string | undefined;
		proc.addFinalListener!(({ report: r }) => void (finalSaw = r.listeners[0]!.outcome));
		void proc.track(({ signal }) => sleep(60_000, signal).catch(() => void (abortedAt = Date.now() - t0)), { name: 'job' });
		fake.kill('SIGTERM');
		await vi.runAllTimersAsync();
		expect(await fake.exited).toBe(1);
		// The others are forced at 2000 (3000 - timeForFinal); the tail before that is a quarter of those 2000 ms.
		expect(abortedAt).toBe(1500);
		expect(finalSaw).toBe('error');
		expect(report()!.forcedBy).toBeUndefined();
	});

	it("a second signal forces the sequence: every unit's signal aborts at once", async () => {
		vi.useFakeTimers();
		const { fake, proc, report } = setUp({ timeToForceQuit: 10_000 });
		const t0 = Date.now();
		let reason: unknown;
		let abortedAt: number | undefined;
		void proc.track(({ signal }) =>
			sleep(60_000, signal).catch((error: unknown) => {
				reason = error;
				abortedAt = Date.now() - t0;
			}),
		);
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(1000);
		fake.kill('SIGINT');
		await vi.advanceTimersByTimeAsync(0);
		expect(abortedAt).toBe(1000);
		expect((reason as Error).name).toBe('ForceQuitError');
		expect(await fake.exited).toBe(1);
		expect(report()!.forcedBy).toBe('signal');
	});
});

describe('tracked work: times fit the units in flight', () => {
	it('a unit with `grace` makes the unset times hold it while it runs, and only then', async () => {
		const { fake, proc } = setUp();
		expect([proc.timeToWrapUp, proc.timeToForceQuit]).toEqual([1000, 5500]);
		let finish!: () => void;
		const job = proc.track(() => new Promise<void>((resolve) => (finish = resolve)), { name: 'job', grace: 8000 });
		const other = proc.track(() => sleep(1), { grace: 8000 });
		expect([proc.timeToWrapUp, proc.timeToForceQuit]).toEqual([8000, 12_500]);
		await other;
		expect(proc.timeToWrapUp).toBe(8000);
		finish();
		await job;
		expect([proc.timeToWrapUp, proc.timeToForceQuit]).toEqual([1000, 5500]);
		expect(fake.warnings).toEqual([]);
	});

	it('a unit whose grace a time the user set cannot hold is reported when it starts, not at SIGTERM', async () => {
		const { fake, proc } = setUp({ timeToForceQuit: 4000, timeToWrapUp: 2000 });
		await proc.track(() => {}, { name: 'job', grace: 3000 });
		expect(fake.warnings.map((w) => w.code)).toContain('GRACEFUL_PROC_TIMES_DO_NOT_FIT');
		expect(fake.warnings[0]!.message).toMatch(/timeToWrapUp is 2000 ms, but the wrap-up listener `tracked work` may take 3000 ms/);
	});

	it('the sequence keeps the times it started with while the units end', async () => {
		vi.useFakeTimers();
		const { fake, proc, report } = setUp();
		const log: number[] = [];
		const t0 = Date.now();
		void proc.track(() => sleep(6000), { grace: 8000 });
		proc.addShutdownListener(() => void log.push(Date.now() - t0), { name: 'db' });
		fake.kill('SIGTERM');
		expect(proc.deadline! - t0).toBe(12_500);
		await vi.runAllTimersAsync();
		expect(await fake.exited).toBe(0);
		expect(log).toEqual([6000]);
		expect(report()!.outcome).toBe('clean');
	});
});

describe('tracked work: bad input is rejected at the call, and nothing is registered', () => {
	it.each([
		['fn', [undefined], TypeError, 'Expected `fn` to be a function, got `undefined` (undefined)'],
		['fn', ['job'], TypeError, 'Expected `fn` to be a function, got `"job"` (string)'],
		['options', [() => {}, null], TypeError, 'Expected `options` to be an object, got `null` (null)'],
		['options', [() => {}, { nme: 'x' }], TypeError, 'Unknown option `options.nme`; known options are `name`, `grace`'],
		['options.name', [() => {}, { name: '' }], RangeError, 'Expected `options.name` to be a non-empty string, got `""` (string)'],
		['options.name', [() => {}, { name: null }], TypeError, 'Expected `options.name` to be a non-empty string, got `null` (null)'],
		['options.grace', [() => {}, { grace: -1 }], RangeError, 'Expected `options.grace` to be a finite number >= 0, got `-1` (number)'],
		['options.grace', [() => {}, { grace: Number.NaN }], RangeError, 'Expected `options.grace` to be a finite number >= 0, got `NaN` (number)'],
		['options.grace', [() => {}, { grace: '5s' }], TypeError, 'Expected `options.grace` to be a finite number >= 0, got `"5s"` (string)'],
		['options.grace', [() => {}, { grace: 2 ** 31 }], RangeError, 'Expected `options.grace` to be a finite number <= 2147483647 (the longest a timer can wait), got `2147483648` (number)'],
	])('%s: %j', (_argument, args, kind, message) => {
		const { fake, proc } = setUp();
		const call = () => (proc.track as (...a: unknown[]) => unknown)(...args);
		expect(call).toThrow(kind);
		expect(call).toThrow(message);
		expect(fake.listenedEvents()).toEqual([]);
		expect(proc.timeToWrapUp).toBe(1000);
	});

	it('the process-wide track() checks the same way, before touching the process-wide proc', () => {
		const before = process.listenerCount('SIGTERM');
		expect(() => (trackExport as (...a: unknown[]) => unknown)('not a function')).toThrow('Expected `fn` to be a function, got `"not a function"` (string)');
		expect(process.listenerCount('SIGTERM')).toBe(before);
	});
});

describe('tracked work: types', () => {
	it("track() resolves to fn's value, sync or async, and fn gets { signal, name }", () => {
		const { proc } = setUp();
		expectTypeOf(proc.track(async () => 42)).toEqualTypeOf<Promise<number>>();
		expectTypeOf(proc.track(() => 'sync')).toEqualTypeOf<Promise<string>>();
		expectTypeOf(trackExport<void>).parameter(0).parameter(0).toEqualTypeOf<TrackedUnit>();
		expectTypeOf<TrackedUnit['signal']>().toEqualTypeOf<AbortSignal>();
		// @ts-expect-error: options are checked by the types, and at the call
		expect(() => proc.track(() => {}, { grace: '5s' })).toThrow(TypeError);
	});
});

describe('tracked work: properties', () => {
	it('every unit started before the trigger is awaited by the wrap-up phase; none starts after it', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(fc.record({ at: fc.integer({ min: 0, max: 300 }), duration: fc.integer({ min: 0, max: 400 }), throws: fc.boolean() }), { maxLength: 12 }),
				fc.integer({ min: 0, max: 300 }),
				async (units, triggerAt) => {
					vi.useFakeTimers();
					try {
						const { fake, proc } = setUp({ timeToForceQuit: 5000, timeToWrapUp: 5000 });
						const t0 = Date.now();
						const started: number[] = [];
						const ended = new Map<number, number>();
						const refused: number[] = [];
						let shutdownAt: number | undefined;
						proc.addShutdownListener(() => void (shutdownAt = Date.now() - t0), { name: 'db' });
						units.forEach((unit, i) => {
							setTimeout(() => {
								proc
									.track(async () => {
										started.push(i);
										await sleep(unit.duration);
										ended.set(i, Date.now() - t0);
										if (unit.throws) throw new Error(`unit ${i}`);
									})
									.catch((error: unknown) => {
										if (error instanceof NotAcceptingError) refused.push(i);
									});
							}, unit.at);
						});
						setTimeout(() => fake.kill('SIGTERM'), triggerAt);
						await vi.advanceTimersByTimeAsync(1000);
						expect(await fake.exited).toBe(0);
						for (const i of started) expect(ended.get(i)!).toBeLessThanOrEqual(shutdownAt!);
						// A unit due at the trigger's own millisecond may come before or after it: timers of one ms run in order.
						const before = units.map((u, i) => ({ u, i })).filter(({ u, i }) => u.at < triggerAt || (u.at === triggerAt && started.includes(i)));
						expect(started.sort((a, b) => a - b)).toEqual(before.map(({ i }) => i));
						expect(refused.length + started.length).toBe(units.length);
					} finally {
						vi.useRealTimers();
					}
				},
			),
			{ numRuns: 60 },
		);
	});
});
