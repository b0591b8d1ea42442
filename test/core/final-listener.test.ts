import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProc, type ShutdownReport } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';

afterEach(() => {
	vi.useRealTimers();
});

describe('the last step: addFinalListener', () => {
	it('runs after every other listener has settled, with the report, before the process exits', async () => {
		vi.useFakeTimers();
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, logger: false, timeToForceQuit: 5000 });
		const log: string[] = [];
		let got: ShutdownReport | undefined;
		proc.addFinalListener!(async ({ report }) => {
			log.push('final start');
			got = report;
			await new Promise((resolve) => setTimeout(resolve, 100));
			log.push('final end');
		});
		proc.addWrapUpListener(() => new Promise<void>((resolve) => setTimeout(() => (log.push('http'), resolve()), 200)), { name: 'http' });
		proc.addShutdownListener(() => void log.push('db'), { name: 'db' });
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(299);
		expect(fake.exitCode).toBeUndefined();
		await vi.advanceTimersByTimeAsync(1);
		expect(await fake.exited).toBe(0);
		expect(log).toEqual(['http', 'db', 'final start', 'final end']);
		expect(got).toMatchObject({ outcome: 'clean', listeners: [{ name: 'http' }, { name: 'db' }] });
	});

	it('gets its slice of the deadline: the others are forced timeForFinal ms before it, and the deadline still holds', async () => {
		vi.useFakeTimers();
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, logger: false, timeToForceQuit: 2000, timeForFinal: 300 });
		const seen: Array<[number, string, string]> = [];
		const t0 = Date.now();
		proc.addWrapUpListener(() => new Promise(() => {}), { name: 'stuck' });
		proc.addFinalListener!(({ report, signal }) => {
			seen.push([Date.now() - t0, report.outcome, report.forcedBy ?? '']);
			// A flush that never ends: the deadline cuts it.
			return new Promise((resolve) => signal.addEventListener('abort', resolve));
		});
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(1700);
		expect(seen).toEqual([[1700, 'forced', 'deadline']]);
		expect(fake.exitCode).toBeUndefined();
		await vi.advanceTimersByTimeAsync(300);
		expect(await fake.exited).toBe(1);
		expect(Date.now() - t0).toBe(2000);
	});

	it('the slice is 500 ms by default, at most half of timeToForceQuit, and checked', async () => {
		vi.useFakeTimers();
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, logger: false, timeToForceQuit: 600 });
		const at: number[] = [];
		const t0 = Date.now();
		proc.addWrapUpListener(() => new Promise(() => {}));
		proc.addFinalListener!(() => void at.push(Date.now() - t0));
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(700);
		expect(at).toEqual([300]);
		expect(() => createProc({ process: createFakeProcess(), timeForFinal: -1 })).toThrow(/Expected `options.timeForFinal` to be a finite number >= 0, got `-1`/);
		expect(() => proc.addFinalListener!('x' as never)).toThrow(TypeError);
	});

	it('one that throws changes neither the exit code nor the report, and the others still run', async () => {
		const fake = createFakeProcess();
		const errors: string[] = [];
		const proc = createProc({ process: fake, logger: { error: (m) => void errors.push(m) } });
		const ran: string[] = [];
		proc.addShutdownListener(() => {});
		proc.addFinalListener!(function broken() {
			throw new Error('no exporter');
		});
		proc.addFinalListener!(() => void ran.push('flush'));
		fake.kill('SIGTERM');
		expect(await fake.exited).toBe(0);
		expect(ran).toEqual(['flush']);
		expect(errors.join('\n')).toMatch(/final listener broken failed: Error: no exporter/);
	});

	it('a deliberate second signal during the last step ends it at once: its signal aborts, the report and its exit code stay', async () => {
		vi.useFakeTimers();
		const fake = createFakeProcess();
		const said: string[] = [];
		const reports: ShutdownReport[] = [];
		const proc = createProc({ process: fake, logger: { error: (m) => void said.push(m) }, timeToForceQuit: 10_000, onReport: (r) => void reports.push(r) });
		const t0 = Date.now();
		let aborted: unknown;
		proc.addShutdownListener(() => {}, { name: 'db' });
		proc.addFinalListener!(({ signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve((aborted = signal.reason)))), { name: 'flush' });
		fake.kill('SIGINT');
		await vi.advanceTimersByTimeAsync(50);
		// A copy of the first within 100 ms (a forwarding parent's) is the same signal: the step goes on.
		fake.kill('SIGINT');
		await vi.advanceTimersByTimeAsync(250);
		expect(fake.exitCode).toBeUndefined();
		expect(aborted).toBeUndefined();
		fake.kill('SIGINT');
		expect(await fake.exited).toBe(0);
		expect(Date.now() - t0).toBe(300);
		expect(String(aborted)).toMatch(/the last step was cut by a repeated SIGINT/);
		expect(said).toEqual(['graceful-proc: the last step was cut by a repeated SIGINT']);
		expect(reports).toMatchObject([{ outcome: 'clean', exitCode: 0, listeners: [{ name: 'db', outcome: 'ok' }] }]);
	});

	it('after a forced end the last step is cut the same way, with the forced report\'s exit code', async () => {
		vi.useFakeTimers();
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, logger: false, timeToForceQuit: 10_000 });
		const outcomes: string[] = [];
		proc.addWrapUpListener(() => new Promise(() => {}), { name: 'stuck' });
		proc.addFinalListener!(({ report, signal }) => {
			outcomes.push(`${report.outcome} by ${report.forcedBy}`);
			return new Promise((resolve) => signal.addEventListener('abort', resolve));
		});
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(200);
		fake.kill('SIGTERM'); // forces the stuck wrap-up: the last step starts with the forced report
		await vi.advanceTimersByTimeAsync(200);
		expect(outcomes).toEqual(['forced by signal']);
		expect(fake.exitCode).toBeUndefined();
		fake.kill('SIGTERM'); // and a third cuts the last step
		expect(await fake.exited).toBe(1);
	});
});
