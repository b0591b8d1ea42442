// useFakeProcess() / useRealProcess(): the process-wide proc, which an app uses at module top level, put on a fake
// process for a test and given back. In-process; the HTTP app as the README writes it is in testing-app.test.ts.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { addShutdownListener, addWrapUpListener, configure, proc, run, shutdown, signal, track } from '../../src/index.js';
import { createHealthTicker } from '../../src/health/index.js';
import { drain } from '../../src/http/index.js';
import { createFakeProcess, FakeProcess, useFakeProcess, useRealProcess } from '../../src/testing.js';

const EVENTS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'uncaughtException', 'unhandledRejection', 'exit', 'beforeExit', 'message'] as const;
/** What the real process listens to: a test on a fake must leave it as it was. */
const realListeners = () => EVENTS.map((event) => process.listenerCount(event));

afterEach(() => useRealProcess());

/** Resolves with `promise`'s value, or 'timed out' after `ms`: a wait that would hang fails crisply instead. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), ms)));
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('useFakeProcess() puts the process-wide proc on a fake process', () => {
	it('runs what the named exports registered when the fake gets SIGTERM: exit code, report, and the real process untouched', async () => {
		const before = realListeners();
		const fake = useFakeProcess();
		expect(fake).toBeInstanceOf(FakeProcess);
		const ran: string[] = [];
		addWrapUpListener(() => void ran.push('http'), { name: 'http' });
		addShutdownListener(() => void ran.push('db'), { name: 'db' });
		expect(fake.listenedEvents()).toEqual(expect.arrayContaining(['SIGTERM', 'SIGINT']));
		expect(realListeners()).toEqual(before);

		fake.kill('SIGTERM');
		expect(proc.state).toBe('wrapping-up');
		expect(await fake.exited).toBe(0);
		expect(ran).toEqual(['http', 'db']);
		expect(fake.shutdownReport).toMatchObject({
			reason: 'SIGTERM',
			outcome: 'clean',
			exitCode: 0,
			listeners: [
				{ name: 'http', phase: 'wrap-up', outcome: 'ok' },
				{ name: 'db', phase: 'shutdown', outcome: 'ok' },
			],
		});
		expect(realListeners()).toEqual(before);

		await useRealProcess();
		expect(proc.state).toBe('running');
		expect(proc.signal.aborted).toBe(false);
		expect(realListeners()).toEqual(before);
	});

	it('gives the `signal` export and proc.signal of the proc in force: the fake one aborts, the real one does not', async () => {
		const real = signal;
		expect(real).toBe(proc.signal);
		const fake = useFakeProcess();
		expect(signal).not.toBe(real);
		expect(proc.signal).toBe(signal);
		addShutdownListener(() => {}, { name: 'db' });
		fake.kill('SIGINT');
		expect(signal.aborted).toBe(true);
		expect(signal.reason).toBe('SIGINT');
		await fake.exited;
		await useRealProcess();
		expect(signal).toBe(real);
		expect(real.aborted).toBe(false);
	});

	it('takes configure(), the times and shutdown() for the fake, and leaves the real proc’s as they were', async () => {
		const realTime = proc.timeToForceQuit;
		const fake = useFakeProcess();
		const reports: unknown[] = [];
		configure({ onReport: (report) => void reports.push(report.outcome), logger: false });
		proc.setTimeToForceQuit(1234);
		expect(proc.timeToForceQuit).toBe(1234);
		const report = await shutdown('by hand');
		expect(report).toMatchObject({ reason: 'by hand', outcome: 'clean' });
		// onReport belongs to the app; the fake keeps the report for the test all the same.
		expect(reports).toEqual(['clean']);
		expect(fake.shutdownReport).toBe(report);
		expect(await fake.exited).toBe(0);
		await useRealProcess();
		expect(proc.timeToForceQuit).toBe(realTime);
		expect(proc.state).toBe('running');
	});

	it('puts a health ticker and run() made during the test on the fake: SIGTERM stops them, and readiness falls', async () => {
		const fake = useFakeProcess();
		const ticker = createHealthTicker({ checks: { db: () => true }, interval: 60_000 });
		await ticker.check();
		expect(ticker.status().ready).toBe(true);
		let stoppedBy: unknown;
		const ended = run(({ signal: stop }) => new Promise<void>((resolve) => stop.addEventListener('abort', () => ((stoppedBy = stop.reason), resolve()))));
		fake.kill('SIGTERM');
		expect(ticker.status().ready).toBe(false);
		expect(await fake.exited).toBe(0);
		expect(stoppedBy).toBe('SIGTERM');
		expect((await ended).listeners.map((l) => [l.name, l.phase, l.outcome])).toEqual([
			['main', 'wrap-up', 'ok'],
			['health', 'shutdown', 'ok'],
		]);
	});

	it('waits for tracked work started during the test, on the fake', async () => {
		const fake = useFakeProcess();
		let release!: () => void;
		const job = track(() => new Promise<string>((resolve) => (release = () => resolve('done'))), { name: 'job 1' });
		fake.kill('SIGTERM');
		expect(fake.exitCode).toBeUndefined();
		release();
		expect(await job).toBe('done');
		expect(await fake.exited).toBe(0);
		expect(fake.shutdownReport!.listeners.map((l) => [l.name, l.outcome])).toEqual([['tracked work', 'ok']]);
	});

	it('leaves out the drain’s delay, as under nodemon, unless asked for the production waits', async () => {
		const server = http.createServer();
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const fake = useFakeProcess();
		// Had the delay stayed, this deadline would cut it (exit 1), and the times would be reported as too short.
		proc.setTimeToForceQuit(3000);
		drain(server, { delay: 600_000 });
		fake.kill('SIGTERM');
		expect(await within(fake.exited, 10_000)).toBe(0);
		expect(fake.warnings).toEqual([]);
		expect(server.listening).toBe(false);
		await useRealProcess();

		const again = http.createServer();
		await new Promise<void>((resolve) => again.listen(0, '127.0.0.1', resolve));
		const slow = useFakeProcess({ drainWaits: 'production' });
		drain(again, { delay: 300, idleGrace: 0 });
		slow.kill('SIGTERM');
		expect(again.listening).toBe(true);
		expect(await within(slow.exited, 10_000)).toBe(0);
		expect(again.listening).toBe(false);
		expect(slow.shutdownReport!.durationMs).toBeGreaterThanOrEqual(300);
	});
});

describe('useRealProcess() gives the real process back', () => {
	it('stops what the app left running on the fake, and resolves once it has ended', async () => {
		const fake = useFakeProcess();
		const server = http.createServer();
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		drain(server, { delay: 5000 });
		let reason: unknown;
		addShutdownListener((ctx) => void (reason = ctx.reason), { name: 'db' });
		await useRealProcess();
		expect(server.listening).toBe(false);
		expect(reason).toBe('useRealProcess()');
		expect(fake.exitCode).toBe(0);
		expect(fake.shutdownReport).toMatchObject({ reason: 'useRealProcess()', outcome: 'clean' });
		expect(fake.listenedEvents()).toEqual([]);
		expect(proc.state).toBe('running');
	});

	it('waits for a shutdown the test started and did not await', async () => {
		const fake = useFakeProcess();
		let finished = false;
		addWrapUpListener(() => new Promise<void>((resolve) => setTimeout(() => ((finished = true), resolve()), 100)), { name: 'slow' });
		fake.kill('SIGTERM');
		await useRealProcess();
		expect(finished).toBe(true);
		expect(fake.shutdownReport).toMatchObject({ reason: 'SIGTERM', outcome: 'clean' });
	});

	it('does nothing on the real process, and may be called again', async () => {
		const before = realListeners();
		await useRealProcess();
		await useRealProcess();
		expect(proc.state).toBe('running');
		expect(realListeners()).toEqual(before);
	});

	it('is what `await using` calls at the end of the block', async () => {
		let fake!: FakeProcess;
		{
			await using inBlock = useFakeProcess();
			fake = inBlock;
			addShutdownListener(() => {}, { name: 'db' });
			expect(inBlock.listenedEvents()).toContain('SIGTERM');
		}
		expect(fake.exitCode).toBe(0);
		expect(fake.shutdownReport).toMatchObject({ reason: 'useRealProcess()', outcome: 'clean' });
		expect(proc.state).toBe('running');
	});
});

describe('useFakeProcess() refuses what cannot work, with an error that says why, and changes nothing', () => {
	it('refuses a second fake while one is in force, naming it', () => {
		const first = useFakeProcess({ pid: 1111 });
		expect(() => useFakeProcess()).toThrow(/already on a fake process \(pid 1111\); call useRealProcess\(\)/);
		addShutdownListener(() => {}, { name: 'db' });
		expect(first.listenedEvents()).toContain('SIGTERM');
	});

	it('refuses when the real process already has listeners: the app was loaded before the fake', async () => {
		const before = realListeners();
		const wait = addShutdownListener(() => {}, { name: 'loaded-too-early' });
		try {
			expect(() => useFakeProcess()).toThrow(/already has listeners on the real process \(`loaded-too-early`\).*Load the app after useFakeProcess\(\)/);
			expect(proc.signal).toBe(signal);
		} finally {
			wait.remove();
		}
		expect(realListeners()).toEqual(before);
		// Once they are gone, it works.
		useFakeProcess();
		await useRealProcess();
	});

	it.each([
		[{ drainWaits: 'none' }, RangeError, /^Expected `options.drainWaits` to be one of 'devWatch', 'production', got `"none"` \(string\)$/],
		[{ drainWaits: null }, TypeError, /^Expected `options.drainWaits` to be one of 'devWatch', 'production', got `null` \(null\)$/],
		[{ pid: 0 }, RangeError, /^Expected `options.pid` to be a finite integer >= 1, got `0` \(number\)$/],
		[{ delay: 0 }, TypeError, /^Unknown option `options.delay`; known options are `pid`, `platform`, `ipc`, `activeResources`, `drainWaits`$/],
		['fast', TypeError, /^Expected `options` to be an object, got `"fast"` \(string\)$/],
	])('refuses %o', (options, kind, message) => {
		expect(() => useFakeProcess(options as never)).toThrow(kind);
		expect(() => useFakeProcess(options as never)).toThrow(message);
		// Nothing was bound: the real proc is in force.
		expect(proc.signal).toBe(signal);
		expect(() => useFakeProcess()).not.toThrow();
	});
});

describe('a fake process keeps the shutdown report of its proc', () => {
	it('has it from createProc({ process: fake }) too, once the sequence has ended', async () => {
		const fake = createFakeProcess();
		expect(fake.shutdownReport).toBeUndefined();
		const { createProc } = await import('../../src/index.js');
		const own = createProc({ process: fake, logger: false });
		own.addShutdownListener(() => {
			throw new Error('pool already closed');
		}, { name: 'db' });
		fake.kill('SIGTERM');
		expect(await fake.exited).toBe(1);
		expect(fake.shutdownReport).toMatchObject({ outcome: 'failed', exitCode: 1, listeners: [{ name: 'db', outcome: 'error' }] });
	});
});
