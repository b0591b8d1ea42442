import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { createProc } from '../../src/index.js';
import { createHealthTicker, type HealthStatus, type HealthTicker } from '../../src/health/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { controllableCheck, tickerJar } from '../helpers/health.js';

const jar = tickerJar();
const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
	vi.useFakeTimers();
});

afterEach(async () => {
	await jar.stopAll();
	vi.useRealTimers();
});

describe('createHealthTicker runs every check at once, then every interval', () => {
	it('runs the first round at once and caches its results', async () => {
		let calls = 0;
		const ticker = jar.track(createHealthTicker({ checks: { db: async () => void calls++ }, interval: 1000, proc: false }));
		expect(ticker.status()).toEqual({ started: false, live: true, ready: false, checks: {} });
		await flush();
		expect(calls).toBe(1);
		const status = ticker.status();
		expect(status).toMatchObject({ started: true, live: true, ready: true });
		expect(status.checks.db).toEqual({ ok: true, latencyMs: 0, at: Date.now() });
	});

	it('starts a round every interval, measured from the start of the previous one', async () => {
		const t0 = Date.now();
		const starts: number[] = [];
		const ticker = jar.track(
			createHealthTicker({
				checks: {
					slowish: () => {
						starts.push(Date.now() - t0);
						return new Promise((resolve) => setTimeout(resolve, 600));
					},
				},
				interval: 1000,
				timeout: 900,
				proc: false,
			}),
		);
		await vi.advanceTimersByTimeAsync(3500);
		expect(starts).toEqual([0, 1000, 2000, 3000]);
		expect(ticker.status().checks.slowish?.latencyMs).toBe(600);
	});

	it('never overlaps a slow round: the next one waits for it and does not pile up', async () => {
		const t0 = Date.now();
		const starts: number[] = [];
		let running = 0;
		let maxRunning = 0;
		jar.track(
			createHealthTicker({
				checks: {
					// Takes the whole timeout every time (= the interval): rounds run back to back, one at a time.
					hung: (signal) => {
						starts.push(Date.now() - t0);
						running += 1;
						maxRunning = Math.max(maxRunning, running);
						return new Promise((_, reject) =>
							signal.addEventListener('abort', () => {
								running -= 1;
								reject(signal.reason);
							}),
						);
					},
				},
				interval: 1000,
				timeout: 1000,
				proc: false,
			}),
		);
		await vi.advanceTimersByTimeAsync(4500);
		expect(starts).toHaveLength(5);
		// Each round starts when the previous one has ended (a 0 ms timer later, which Node runs after 1 ms).
		for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeOneOf([1000, 1001]);
		expect(maxRunning).toBe(1);
	});

	it('keeps its timers unref\'d and leaves none behind when stopped', async () => {
		const ticker = createHealthTicker({ checks: { a: () => true }, interval: 1000, proc: false });
		await flush();
		expect(vi.getTimerCount()).toBeGreaterThan(0);
		await ticker.stop();
		expect(vi.getTimerCount()).toBe(0);
	});
});

describe('each check is bounded by timeout, and its signal aborts when it runs out', () => {
	it('fails a check that outlasts timeout and aborts its signal with a TimeoutError', async () => {
		const db = controllableCheck();
		const ticker = jar.track(createHealthTicker({ checks: { db: db.check }, interval: 1000, timeout: 300, proc: false }));
		await vi.advanceTimersByTimeAsync(299);
		expect(db.calls[0]?.aborted).toBe(false);
		await vi.advanceTimersByTimeAsync(1);
		expect(db.calls[0]?.aborted).toBe(true);
		expect((db.calls[0]?.reason as Error).name).toBe('TimeoutError');
		expect(ticker.status().checks.db).toEqual({ ok: false, latencyMs: 300, error: 'timed out after 300 ms', at: Date.now() });
		expect(ticker.status().ready).toBe(false);
	});

	it('does not call a check again while a call that ignored its signal is still running', async () => {
		let calls = 0;
		const ticker = jar.track(
			createHealthTicker({
				checks: {
					stubborn: () => {
						calls += 1;
						return new Promise((resolve) => setTimeout(resolve, 2500));
					},
				},
				interval: 1000,
				timeout: 500,
				proc: false,
			}),
		);
		await vi.advanceTimersByTimeAsync(1500);
		expect(calls).toBe(1);
		const result = ticker.status().checks.stubborn;
		expect(result?.ok).toBe(false);
		expect(result?.error).toMatch(/^still running from an earlier round/);
		expect(result?.latencyMs).toBe(1000);
		await vi.advanceTimersByTimeAsync(500);
		expect(calls).toBe(1);
		expect(ticker.status().checks.stubborn?.latencyMs).toBe(2000);
		// Once the stuck call has settled (at 2500), the next round calls it again.
		await vi.advanceTimersByTimeAsync(1000);
		expect(calls).toBe(2);
	});

	it('aborts running checks when the ticker stops', async () => {
		const db = controllableCheck();
		const ticker = createHealthTicker({ checks: { db: db.check }, interval: 1000, proc: false });
		await flush();
		await ticker.stop();
		expect(db.calls[0]?.aborted).toBe(true);
	});
});

describe('many checks', () => {
	it('runs a dozen checks without Node warning about abort listeners', async () => {
		vi.useRealTimers();
		const warnings: Error[] = [];
		const onWarning = (warning: Error) => warnings.push(warning);
		process.on('warning', onWarning);
		try {
			const checks = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`c${i}`, async () => i]));
			const ticker = createHealthTicker({ checks, interval: 20, proc: false });
			for (let round = 0; round < 3; round++) await ticker.check();
			await new Promise((resolve) => setTimeout(resolve, 60));
			await ticker.stop();
			await new Promise((resolve) => setImmediate(resolve));
			expect(Object.keys(ticker.status().checks)).toHaveLength(12);
			expect(warnings.map((w) => w.message)).toEqual([]);
		} finally {
			process.off('warning', onWarning);
		}
	});
});

describe('a failing check shows its error message, never a stack trace', () => {
	it.each([
		['an Error', () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.1:5432')), 'connect ECONNREFUSED 10.0.0.1:5432'],
		['a synchronous throw', () => {
			throw new TypeError('pool is closed');
		}, 'pool is closed'],
		['a string', () => Promise.reject('no leader'), 'no leader'],
		['false', async () => false, 'returned false'],
		['undefined', () => Promise.reject(undefined), 'failed'],
		['a multi-line message', () => Promise.reject(new Error('first line\n    at secret (/srv/app.js:1:1)')), 'first line'],
	])('reports %s as a one-line message', async (_, check, message) => {
		const ticker = jar.track(createHealthTicker({ checks: { dep: check as () => unknown }, interval: 1000, proc: false }));
		await flush();
		const result = ticker.status().checks.dep;
		expect(result?.ok).toBe(false);
		expect(result?.error).toBe(message);
		expect(JSON.stringify(ticker.status())).not.toMatch(/\n|\s+at\s/);
	});

	it('keeps the schedule and reports a warning when an onChange listener throws a value with no string form', async () => {
		const warnings: Error[] = [];
		const onWarning = (warning: Error) => warnings.push(warning);
		process.on('warning', onWarning);
		try {
			let calls = 0;
			const ticker = jar.track(createHealthTicker({ checks: { a: () => void calls++ }, interval: 1000, proc: false }));
			ticker.onChange(() => {
				throw Object.create(null);
			});
			await flush();
			await vi.advanceTimersByTimeAsync(2000);
			expect(calls).toBe(3);
			expect(ticker.status().ready).toBe(true);
			await vi.waitFor(() =>
				expect(warnings.map((w) => w.message)).toContain('graceful-proc: a health onChange listener threw: {}'),
			);
		} finally {
			process.off('warning', onWarning);
		}
	});

	it('counts any other resolved value, and a synchronous value, as a pass', async () => {
		const ticker = jar.track(
			createHealthTicker({ checks: { a: () => 0, b: async () => null, c: () => 'ok' }, interval: 1000, proc: false }),
		);
		await flush();
		expect(Object.values(ticker.status().checks).map((c) => c.ok)).toEqual([true, true, true]);
	});
});

describe('readiness follows the checks, with thresholds against flapping', () => {
	function flaky(options: { failureThreshold?: number; successThreshold?: number }) {
		let ok = true;
		const ticker = jar.track(
			createHealthTicker({
				checks: {
					db: async () => {
						if (!ok) throw new Error('down');
					},
				},
				interval: 1000,
				proc: false,
				...options,
			}),
		);
		return {
			ticker,
			set: (value: boolean) => {
				ok = value;
			},
		};
	}

	it('is not ready until the first good round, and not ready while a check fails', async () => {
		const { ticker, set } = flaky({});
		set(false);
		await flush();
		expect(ticker.status()).toMatchObject({ started: false, ready: false, live: true });
		set(true);
		await vi.advanceTimersByTimeAsync(1000);
		expect(ticker.status()).toMatchObject({ started: true, ready: true });
		set(false);
		await vi.advanceTimersByTimeAsync(1000);
		expect(ticker.status()).toMatchObject({ started: true, ready: false, live: true });
	});

	it('with failureThreshold 3, stays ready through two failed rounds and turns not ready on the third', async () => {
		const { ticker, set } = flaky({ failureThreshold: 3 });
		await flush();
		set(false);
		const readiness: boolean[] = [];
		for (let round = 0; round < 3; round++) {
			await vi.advanceTimersByTimeAsync(1000);
			readiness.push(ticker.status().ready);
			// The cached result is the raw last one; only readiness waits for the threshold.
			expect(ticker.status().checks.db?.ok).toBe(false);
		}
		expect(readiness).toEqual([true, true, false]);
	});

	it('with failureThreshold 2, one blip between passes does not flap readiness', async () => {
		const { ticker, set } = flaky({ failureThreshold: 2 });
		await flush();
		const changes: boolean[] = [];
		ticker.onChange((status) => changes.push(status.ready));
		for (const ok of [false, true, false, true, false, true]) {
			set(ok);
			await vi.advanceTimersByTimeAsync(1000);
		}
		expect(changes).toEqual([]);
		expect(ticker.status().ready).toBe(true);
	});

	it('with successThreshold 2, needs two passes in a row to become ready, at start and after a failure', async () => {
		const { ticker, set } = flaky({ successThreshold: 2 });
		await flush();
		expect(ticker.status()).toMatchObject({ started: false, ready: false });
		await vi.advanceTimersByTimeAsync(1000);
		expect(ticker.status()).toMatchObject({ started: true, ready: true });
		set(false);
		await vi.advanceTimersByTimeAsync(1000);
		expect(ticker.status().ready).toBe(false);
		set(true);
		await vi.advanceTimersByTimeAsync(1000);
		expect(ticker.status().ready).toBe(false);
		await vi.advanceTimersByTimeAsync(1000);
		expect(ticker.status().ready).toBe(true);
	});

	it('stays started once started, whatever the checks do later', async () => {
		const { ticker, set } = flaky({});
		await flush();
		set(false);
		await vi.advanceTimersByTimeAsync(3000);
		expect(ticker.status()).toMatchObject({ started: true, ready: false });
	});
});

describe('setReady(false) takes the instance out by hand', () => {
	it('turns ready false while the checks keep passing, and setReady(true) brings it back', async () => {
		const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 1000, proc: false }));
		await flush();
		ticker.setReady(false);
		expect(ticker.status()).toMatchObject({ started: true, live: true, ready: false });
		await vi.advanceTimersByTimeAsync(2000);
		expect(ticker.status().ready).toBe(false);
		expect(ticker.status().checks.a?.ok).toBe(true);
		ticker.setReady(true);
		expect(ticker.status().ready).toBe(true);
	});

	it('does not make a ticker ready before its first good round', async () => {
		const db = controllableCheck();
		const ticker = jar.track(createHealthTicker({ checks: { db: db.check }, interval: 1000, proc: false }));
		ticker.setReady(true);
		expect(ticker.status().ready).toBe(false);
	});

	it('rejects anything but a boolean', () => {
		const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 1000, proc: false }));
		expect(() => ticker.setReady('false' as unknown as boolean)).toThrow(
			new TypeError('Expected `ready` to be a boolean, got `"false"` (string)'),
		);
	});
});

describe('onChange reports transitions of started, live and ready', () => {
	it('calls the listener with the new and the previous status, once per transition', async () => {
		let ok = true;
		const ticker = jar.track(
			createHealthTicker({
				checks: {
					db: () => {
						if (!ok) throw new Error('down');
					},
				},
				interval: 1000,
				proc: false,
			}),
		);
		const seen: Array<[Partial<HealthStatus>, Partial<HealthStatus>]> = [];
		const pick = ({ started, live, ready }: HealthStatus) => ({ started, live, ready });
		ticker.onChange((status, previous) => seen.push([pick(status), pick(previous)]));
		await flush();
		await vi.advanceTimersByTimeAsync(1000); // no change: no call
		ok = false;
		await vi.advanceTimersByTimeAsync(1000);
		ticker.setReady(false); // ready already false: no call
		ok = true;
		await vi.advanceTimersByTimeAsync(1000); // still set not ready: no call
		ticker.setReady(true);
		expect(seen).toEqual([
			[{ started: true, live: true, ready: true }, { started: false, live: true, ready: false }],
			[{ started: true, live: true, ready: false }, { started: true, live: true, ready: true }],
			[{ started: true, live: true, ready: true }, { started: true, live: true, ready: false }],
		]);
	});

	it('returns an unsubscribe function', async () => {
		const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 1000, proc: false }));
		const listener = vi.fn();
		const unsubscribe = ticker.onChange(listener);
		unsubscribe();
		await flush();
		expect(listener).not.toHaveBeenCalled();
	});

	it('keeps calling the other listeners when one throws, and reports it as a process warning', async () => {
		const warnings: Error[] = [];
		const onWarning = (warning: Error) => warnings.push(warning);
		process.on('warning', onWarning);
		try {
			const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 1000, proc: false }));
			ticker.onChange(() => {
				throw new Error('listener bug');
			});
			const second = vi.fn();
			ticker.onChange(second);
			await flush();
			expect(second).toHaveBeenCalledTimes(1);
			await vi.waitFor(() => expect(warnings.map((w) => w.message)).toContain('graceful-proc: a health onChange listener threw: listener bug'));
		} finally {
			process.off('warning', onWarning);
		}
	});
});

describe('check() runs a round now', () => {
	it('runs a round at once and resolves to the status after it; the next round is one interval later', async () => {
		const t0 = Date.now();
		const starts: number[] = [];
		const ticker = jar.track(
			createHealthTicker({ checks: { a: () => void starts.push(Date.now() - t0) }, interval: 1000, proc: false }),
		);
		await vi.advanceTimersByTimeAsync(400);
		const status = await ticker.check();
		expect(status).toMatchObject({ started: true, ready: true });
		expect(status.checks.a?.at).toBe(t0 + 400);
		await vi.advanceTimersByTimeAsync(1000);
		expect(starts).toEqual([0, 400, 1400]);
	});

	it('returns the running round instead of starting another one', async () => {
		const db = controllableCheck();
		const ticker = jar.track(createHealthTicker({ checks: { db: db.check }, interval: 1000, proc: false }));
		await flush();
		const first = ticker.check();
		const second = ticker.check();
		expect(second).toBe(first);
		expect(db.calls).toHaveLength(1);
		db.pass();
		expect((await first).checks.db?.ok).toBe(true);
	});

	it('after stop(), resolves to the last status without running anything', async () => {
		let calls = 0;
		const ticker = createHealthTicker({ checks: { a: () => void calls++ }, interval: 1000, proc: false });
		await flush();
		await ticker.stop();
		const status = await ticker.check();
		expect(calls).toBe(1);
		expect(status).toMatchObject({ started: true, ready: false });
	});
});

describe('stop() ends the ticker', () => {
	it('runs no more rounds, turns ready false and keeps live true', async () => {
		let calls = 0;
		const ticker = createHealthTicker({ checks: { a: () => void calls++ }, interval: 1000, proc: false });
		await flush();
		await ticker.stop();
		await vi.advanceTimersByTimeAsync(5000);
		expect(calls).toBe(1);
		expect(ticker.status()).toMatchObject({ started: true, live: true, ready: false });
	});

	it('is idempotent', async () => {
		const ticker = createHealthTicker({ checks: { a: () => true }, interval: 1000, proc: false });
		expect(ticker.stop()).toBe(ticker.stop());
		await ticker.stop();
	});

	it('discards the results of a round that was running when it stopped', async () => {
		const db = controllableCheck();
		const ticker = createHealthTicker({ checks: { db: db.check }, interval: 1000, proc: false });
		const round = ticker.check();
		await ticker.stop();
		expect((await round).checks).toEqual({});
	});
});

describe('bad input is rejected with a TypeError or RangeError, and nothing starts', () => {
	const check = () => true;
	it.each([
		['no options', undefined, TypeError, 'Expected `options` to be an object with `checks`, got `undefined` (undefined)'],
		['no checks', {}, TypeError, 'Expected `options.checks` to be an object of check functions, got `undefined` (undefined)'],
		['empty checks', { checks: {} }, TypeError, 'Expected `options.checks` to be an object with at least one check function, got `[Object]` (object)'],
		['a check that is not a function', { checks: { db: 'select 1' } }, TypeError, 'Expected `options.checks.db` to be a function, got `"select 1"` (string)'],
		['checks as an array', { checks: [check] }, TypeError, 'Expected `options.checks` to be an object of check functions, got `[Array(1)]` (array)'],
		['interval 0', { checks: { check }, interval: 0 }, RangeError, 'Expected `options.interval` to be a finite number > 0, got `0` (number)'],
		['a negative interval', { checks: { check }, interval: -5 }, RangeError, 'Expected `options.interval` to be a finite number > 0, got `-5` (number)'],
		['an infinite interval', { checks: { check }, interval: Infinity }, RangeError, 'Expected `options.interval` to be a finite number > 0, got `Infinity` (number)'],
		['interval as a string', { checks: { check }, interval: '5s' }, TypeError, 'Expected `options.interval` to be a finite number > 0, got `"5s"` (string)'],
		['timeout 0', { checks: { check }, timeout: 0 }, RangeError, 'Expected `options.timeout` to be a finite number > 0, got `0` (number)'],
		['timeout > interval', { checks: { check }, interval: 1000, timeout: 1500 }, RangeError, 'Expected `options.timeout` to be a finite number > 0 and <= `options.interval` (1000), got `1500` (number)'],
		['failureThreshold 0', { checks: { check }, failureThreshold: 0 }, RangeError, 'Expected `options.failureThreshold` to be a finite integer >= 1, got `0` (number)'],
		['successThreshold 1.5', { checks: { check }, successThreshold: 1.5 }, RangeError, 'Expected `options.successThreshold` to be a finite integer >= 1, got `1.5` (number)'],
		['maxEventLoopDelay true', { checks: { check }, maxEventLoopDelay: true }, TypeError, 'Expected `options.maxEventLoopDelay` to be a finite number > 0, or false, got `true` (boolean)'],
		['maxEventLoopDelay 0', { checks: { check }, maxEventLoopDelay: 0 }, RangeError, 'Expected `options.maxEventLoopDelay` to be a finite number > 0, got `0` (number)'],
		['an empty heartbeatFile', { checks: { check }, heartbeatFile: '' }, RangeError, 'Expected `options.heartbeatFile` to be a non-empty string, got `""` (string)'],
		['a proc that is not one', { checks: { check }, proc: {} }, TypeError, 'Expected `options.proc` to be a proc (from `createProc()` or the process-wide `proc`), or false, got `[Object]` (object)'],
		['an unknown option', { checks: { check }, intervall: 10 }, TypeError, 'Unknown option `options.intervall`'],
		// null is bad input, never "use the default".
		['a null interval', { checks: { check }, interval: null }, TypeError, 'Expected `options.interval` to be a finite number > 0, got `null` (null)'],
		['a null timeout', { checks: { check }, timeout: null }, TypeError, 'Expected `options.timeout` to be a finite number > 0, got `null` (null)'],
		['a null failureThreshold', { checks: { check }, failureThreshold: null }, TypeError, 'Expected `options.failureThreshold` to be a finite integer >= 1, got `null` (null)'],
		['a null successThreshold', { checks: { check }, successThreshold: null }, TypeError, 'Expected `options.successThreshold` to be a finite integer >= 1, got `null` (null)'],
		['a null maxEventLoopDelay', { checks: { check }, maxEventLoopDelay: null }, TypeError, 'Expected `options.maxEventLoopDelay` to be a finite number > 0, or false, got `null` (null)'],
		['a null heartbeatFile', { checks: { check }, heartbeatFile: null }, TypeError, 'Expected `options.heartbeatFile` to be a non-empty string, got `null` (null)'],
		['a null proc', { checks: { check }, proc: null }, TypeError, 'Expected `options.proc` to be a proc (from `createProc()` or the process-wide `proc`), or false, got `null` (null)'],
		['null checks', { checks: null }, TypeError, 'Expected `options.checks` to be an object of check functions, got `null` (null)'],
		['null options', null, TypeError, 'Expected `options` to be an object, got `null` (null)'],
	])('rejects %s', (_, options, ErrorClass, message) => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false });
		const withProc = options && typeof options === 'object' && !('proc' in options) ? { ...options, proc } : options;
		let thrown: unknown;
		try {
			createHealthTicker(withProc as never);
		} catch (error) {
			thrown = error;
		}
		expect(thrown).toBeInstanceOf(ErrorClass);
		expect((thrown as Error).message).toContain(message);
		expect(vi.getTimerCount()).toBe(0);
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('calls no check when the options are bad', async () => {
		const spy = vi.fn();
		expect(() => createHealthTicker({ checks: { spy }, interval: 100, timeout: 200, proc: false })).toThrow(RangeError);
		await flush();
		expect(spy).not.toHaveBeenCalled();
	});

	it('validates listen() arguments', async () => {
		const ticker = jar.track(createHealthTicker({ checks: { check }, proc: false }));
		await expect(ticker.listen(-1)).rejects.toThrow(new RangeError('Expected `port` to be a finite integer >= 0, got `-1` (number)'));
		await expect(ticker.listen(70000)).rejects.toThrow(RangeError);
		await expect(ticker.listen('3000' as unknown as number)).rejects.toThrow(TypeError);
		expect(() => ticker.onChange('x' as never)).toThrow(new TypeError('Expected `listener` to be a function, got `"x"` (string)'));
	});
});

describe('types', () => {
	it('exposes the contract', () => {
		expectTypeOf(createHealthTicker).returns.toEqualTypeOf<HealthTicker>();
		expectTypeOf<HealthTicker['status']>().returns.toEqualTypeOf<HealthStatus>();
		expectTypeOf<HealthStatus['checks'][string]>().toEqualTypeOf<
			Readonly<{ readonly ok: boolean; readonly latencyMs: number; readonly error?: string; readonly at: number }>
		>();
	});
});
