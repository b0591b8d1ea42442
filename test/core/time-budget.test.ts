import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProc, type Proc } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';

type Reserve = (phase: 'wrap-up' | 'shutdown', ms: number, who: string) => () => void;
const RESERVE = Symbol.for('graceful-proc.reserveTime');
const reserve = (proc: Proc, phase: 'wrap-up' | 'shutdown', ms: number, who: string) => (proc as unknown as Record<symbol, Reserve>)[RESERVE]!.call(proc, phase, ms, who);

function setup(options: { timeToForceQuit?: number; timeToWrapUp?: number } = {}) {
	const fake = createFakeProcess();
	const proc = createProc({ process: fake, logger: false, ...options });
	return { fake, proc };
}

afterEach(() => {
	vi.useRealTimers();
});

describe('times the user did not set follow from what was registered', () => {
	it('keeps 1 s to wrap up and 5.5 s to force-quit when nothing asks for more', () => {
		const { proc } = setup();
		expect([proc.timeToWrapUp, proc.timeToForceQuit]).toEqual([1000, 5500]);
	});

	it('stretches the wrap-up phase to the longest wrap-up listener, and the deadline by as much', () => {
		const { proc, fake } = setup();
		const release = reserve(proc, 'wrap-up', 6500, 'http 127.0.0.1:3000');
		reserve(proc, 'wrap-up', 2000, 'queue');
		expect([proc.timeToWrapUp, proc.timeToForceQuit]).toEqual([6500, 11_000]);
		release();
		expect([proc.timeToWrapUp, proc.timeToForceQuit]).toEqual([2000, 6500]);
		expect(fake.warnings).toEqual([]);
	});

	it('leaves a shutdown listener the time it reserved after the wrap-up phase', () => {
		const { proc } = setup();
		reserve(proc, 'shutdown', 8000, 'worker');
		expect([proc.timeToWrapUp, proc.timeToForceQuit]).toEqual([1000, 9000]);
	});

	it('lets a wrap-up listener that takes its reserved time finish cleanly, where the defaults would have forced it', async () => {
		vi.useFakeTimers();
		const { proc, fake } = setup();
		reserve(proc, 'wrap-up', 6500, 'http');
		let done = false;
		proc.addWrapUpListener(() => new Promise<void>((resolve) => setTimeout(resolve, 6000)).then(() => (done = true)), { name: 'http' });
		proc.addShutdownListener(() => {}, { name: 'db' });
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(6000);
		const report = await proc.shutdown();
		expect(done).toBe(true);
		expect(report.outcome).toBe('clean');
		expect(report.listeners.map((l) => [l.name, l.outcome])).toEqual([
			['http', 'ok'],
			['db', 'ok'],
		]);
		expect(await fake.exited).toBe(0);
	});

	it('starts the deadline of a sequence from the times in force when it starts', async () => {
		vi.useFakeTimers();
		const { proc, fake } = setup();
		reserve(proc, 'wrap-up', 3000, 'http');
		proc.addWrapUpListener(() => new Promise(() => {}), { name: 'hangs' });
		const start = Date.now();
		fake.kill('SIGTERM');
		expect(proc.deadline).toBe(start + 7500);
		await vi.advanceTimersByTimeAsync(7500);
		expect((await proc.shutdown()).outcome).toBe('forced');
	});
});

describe('a time the user set that cannot hold what was registered is reported when it meets it', () => {
	it('warns when a wrap-up listener reserves more than the timeToWrapUp that was set, with the numbers and the fix', () => {
		const { proc, fake } = setup({ timeToWrapUp: 1000, timeToForceQuit: 20_000 });
		reserve(proc, 'wrap-up', 6500, 'http 127.0.0.1:3000');
		expect(fake.warnings).toEqual([
			{
				code: 'GRACEFUL_PROC_TIMES_DO_NOT_FIT',
				message:
					'graceful-proc: timeToWrapUp is 1000 ms, but the wrap-up listener `http 127.0.0.1:3000` may take 6500 ms, so it would be cut: call setTimeToWrapUp(6500) or more, or leave timeToWrapUp unset so that it follows what is registered',
			},
		]);
		expect(proc.timeToWrapUp).toBe(1000);
	});

	it('warns when the timeToForceQuit that was set is shorter than the listeners need', () => {
		const { proc, fake } = setup();
		proc.setTimeToForceQuit(3000);
		expect(fake.warnings).toEqual([]);
		reserve(proc, 'wrap-up', 5000, 'http');
		expect(fake.warnings.map((w) => w.message)).toEqual([
			'graceful-proc: timeToForceQuit is 3000 ms, but the listeners registered need 5000 ms (wrap-up 5000 ms), so `http` would be cut: call setTimeToForceQuit(5000) or more, or leave timeToForceQuit unset so that it follows what is registered',
		]);
	});

	it('warns when the time is set after the listener that needs more was registered, and only once per misfit', () => {
		const { proc, fake } = setup();
		reserve(proc, 'shutdown', 8000, 'worker');
		proc.setTimeToForceQuit(5000);
		proc.setTimeToForceQuit(5000);
		expect(fake.warnings.map((w) => w.message)).toEqual([
			'graceful-proc: timeToForceQuit is 5000 ms, but the listeners registered need 9000 ms (wrap-up 1000 ms, then `worker` 8000 ms), so `worker` would be cut: call setTimeToForceQuit(9000) or more, or leave timeToForceQuit unset so that it follows what is registered',
		]);
		proc.setTimeToForceQuit(9000);
		expect(fake.warnings).toHaveLength(1);
	});
});

describe('the times of a running sequence are final', () => {
	it('refuses setTimeToForceQuit() and setTimeToWrapUp() once shutdown has started, and keeps the deadline', async () => {
		const { proc, fake } = setup();
		proc.addWrapUpListener(() => new Promise(() => {}));
		fake.kill('SIGTERM');
		const deadline = proc.deadline;
		expect(() => proc.setTimeToForceQuit(100)).toThrow('graceful-proc: setTimeToForceQuit() is not possible once shutdown has started');
		expect(() => proc.setTimeToWrapUp(100)).toThrow('graceful-proc: setTimeToWrapUp() is not possible once shutdown has started');
		expect([proc.timeToForceQuit, proc.timeToWrapUp, proc.deadline]).toEqual([5500, 1000, deadline]);
		(fake as { exit(code: number): void }).exit(0);
	});
});

describe('a reservation is checked like any input', () => {
	it.each([
		[['later', 10, 'x'], RangeError, "Expected `phase` to be one of 'wrap-up', 'shutdown', got `\"later\"` (string)"],
		[['wrap-up', -1, 'x'], RangeError, 'Expected `ms` to be a finite number >= 0, got `-1` (number)'],
		[['wrap-up', 2 ** 31, 'x'], RangeError, 'Expected `ms` to be a finite number <= 2147483647 (the longest a timer can wait), got `2147483648` (number)'],
		[['wrap-up', null, 'x'], TypeError, 'Expected `ms` to be a finite number >= 0, got `null` (null)'],
		[['wrap-up', 10, 3], TypeError, 'Expected `who` to be a non-empty string, got `3` (number)'],
	])('refuses %j', (args, type, message) => {
		const { proc } = setup();
		expect(() => reserve(proc, ...(args as [never, never, never]))).toThrow(type);
		expect(() => reserve(proc, ...(args as [never, never, never]))).toThrow(message);
		expect([proc.timeToWrapUp, proc.timeToForceQuit]).toEqual([1000, 5500]);
	});
});

describe('under PM2, the times fit inside its kill_timeout', () => {
	const budget = async (killMs: number) => {
		const { TimeBudget } = await import('../../src/time-budget.js');
		const warnings: string[] = [];
		const times = new TimeBudget((message) => warnings.push(message));
		times.setOutsideKill({ ms: killMs, who: 'PM2 (kill_timeout)', fix: (ms) => `set kill_timeout to ${ms}` });
		return { times, warnings };
	};

	it("brings an unset deadline before PM2's default SIGKILL at 1,600 ms, so the report is written", async () => {
		const { times, warnings } = await budget(1600);
		expect([times.timeToWrapUp, times.timeToForceQuit]).toEqual([1000, 1350]);
		times.set({});
		expect(warnings).toEqual([]);
	});

	it('keeps the deadline that was asked for when kill_timeout leaves room for it', async () => {
		const { times } = await budget(30_000);
		expect(times.timeToForceQuit).toBe(5500);
	});

	it('says what to set when the listeners need more than kill_timeout allows', async () => {
		const { times, warnings } = await budget(1600);
		times.reserve('wrap-up', 3000, 'http 127.0.0.1:3000');
		expect(times.timeToForceQuit).toBe(3000);
		expect(warnings).toEqual([
			'graceful-proc: PM2 (kill_timeout) kills this process 1600 ms after its stop signal, but the listeners registered need 3000 ms (`http 127.0.0.1:3000`), so the shutdown would be cut without a report: set kill_timeout to 3250',
		]);
	});

	it('says what to set when the timeToForceQuit that was set outlasts kill_timeout', async () => {
		const { times, warnings } = await budget(1600);
		times.set({ timeToForceQuit: 5000 });
		expect(warnings).toEqual([
			'graceful-proc: PM2 (kill_timeout) kills this process 1600 ms after its stop signal, but timeToForceQuit is 5000 ms, so the shutdown would be cut without a report: set kill_timeout to 5250',
		]);
	});

	it('reads kill_timeout from the environment PM2 gives the real process', async () => {
		const { execFileSync } = await import('node:child_process');
		const script = "import('graceful-proc').then(({ proc }) => console.log(proc.timeToForceQuit))";
		const run = (env: Record<string, string>) =>
			execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }).trim();
		expect(run({})).toBe('5500');
		expect(run({ pm_id: '0', pm_exec_path: '/srv/app.js' })).toBe('1350');
		expect(run({ pm_id: '0', pm_exec_path: '/srv/app.js', kill_timeout: '3000' })).toBe('2750');
	});
});
