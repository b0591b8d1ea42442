// The force-quit watchdog, against real processes and real signals: a loop blocked before the signal came, a
// repeated Ctrl+C while a listener is busy, a listener stuck in a system call (PID 1 included), hooks that
// block after the report, many pending listeners, and graceful-proc inside a worker thread.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeProcess } from '../../src/testing.js';
import { createProc } from '../../src/proc.js';
import { type Child, fixture, reportOf, startNode } from '../helpers/child.js';

const script = fixture('watchdog-child.mjs');

// A child that a failing test leaves behind (a watchdog that did not act) must not outlive the test.
const started: Child[] = [];
function start(...args: Parameters<typeof startNode>): Child {
	const child = startNode(...args);
	started.push(child);
	return child;
}
afterEach(() => {
	for (const child of started.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
});
/** The contract: the process is gone within one second after the deadline. */
const WITHIN = 1000;

/**
 * Where a worker thread can watch signals itself (Node 20 and 22 through `process.binding('signal_wrap')`;
 * the binding is gone from Node 24), the watchdog learns when a signal arrived even while the main loop is blocked.
 */
function workersCanWatchSignals(): boolean {
	const probe = spawnSync(
		process.execPath,
		['-e', `new (require('node:worker_threads').Worker)("process.noDeprecation = true; try { process.binding('signal_wrap'); } catch { process.exitCode = 1 }", { eval: true }).on('exit', (c) => process.exit(c))`],
		{ encoding: 'utf8' },
	);
	return probe.status === 0;
}
const watchesSignals = workersCanWatchSignals();

/** `unshare --pid --fork --mount-proc` needs CAP_SYS_ADMIN (root, or a user namespace); CI runs as root. */
function canUnshare(): boolean {
	if (process.platform !== 'linux') return false;
	try {
		execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}
const unshare = canUnshare();

/** Every process whose command line is exactly `words` (Linux /proc). */
function processesRunning(words: string[]): number[] {
	const found: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
			if (argv.join(' ') === words.join(' ')) found.push(Number(entry));
		} catch {}
	}
	return found;
}

/** Sends `signal` once the child says `ready` (or `pattern`) and resolves with the time it was sent. */
async function signalWhen(child: Child, pattern: RegExp, signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
	await child.waitFor(pattern);
	const sentAt = Date.now();
	child.process.kill(signal);
	return sentAt;
}

describe('the deadline holds from the signal’s arrival', () => {
	it.skipIf(!watchesSignals)(
		'ends a process whose loop was already blocked when SIGTERM arrived: exit 1, the report, listeners skipped',
		async () => {
			const child = start(script, ['blocked-before'], { env: { TIME_TO_FORCE_QUIT: '1000' } });
			const sentAt = await signalWhen(child, /^blocking watching=true$/);
			const [code, signal] = await child.closed;
			const elapsed = child.closedAt() - sentAt;
			expect([code, signal]).toEqual([1, null]);
			expect(elapsed).toBeGreaterThanOrEqual(1000);
			expect(elapsed).toBeLessThan(1000 + WITHIN);
			expect(reportOf(child)).toMatchObject({
				reason: 'SIGTERM',
				outcome: 'forced',
				forcedBy: 'blocked',
				exitCode: 1,
				listeners: [
					{ name: 'http', outcome: 'skipped' },
					{ name: 'db', outcome: 'skipped' },
				],
			});
			// Counted from the arrival, not from when the watchdog stepped in.
			expect(reportOf(child).durationMs).toBeGreaterThanOrEqual(1000);
			expect(child.stderr()).toMatch(/shutdown forced after \d+ ms \(reason: SIGTERM\)/);
			// The thread's use of the deprecated binding stays its own business.
			expect(child.stderr()).not.toMatch(/DeprecationWarning|DEP0111/);
		},
	);

	it.skipIf(!watchesSignals)(
		'follows a force-quit time that moved with setTimeToWrapUp() after the watchdog started, for a loop blocked before SIGTERM',
		async () => {
			// Left unset, timeToForceQuit is at least timeToWrapUp + 4500 ms: 2000 ms to wrap up make it 6500 ms.
			const child = start(script, ['blocked-before'], { env: { TIME_TO_FORCE_QUIT: 'unset', WRAP_UP_LATE: '2000' } });
			await signalWhen(child, /^blocking watching=true$/);
			expect(await child.closed).toEqual([1, null]);
			expect(reportOf(child)).toMatchObject({ reason: 'SIGTERM', outcome: 'forced', forcedBy: 'blocked' });
			expect(reportOf(child).durationMs).toBeGreaterThanOrEqual(6500);
		},
	);

	it('takes a second SIGINT 5 ms after the first as the same Ctrl+C, though a listener kept the loop busy for 150 ms', async () => {
		const child = start(script, ['busy-listener']);
		await signalWhen(child, /^ready/, 'SIGINT');
		await new Promise((resolve) => setTimeout(resolve, 5));
		child.process.kill('SIGINT');
		expect(await child.closed).toEqual([0, null]);
		expect(reportOf(child)).toMatchObject({ reason: 'SIGINT', outcome: 'clean', exitCode: 0 });
	});

	it('still forces the exit on a second SIGINT 400 ms after the first', async () => {
		const child = start(script, ['busy-listener']);
		await signalWhen(child, /^ready/, 'SIGINT');
		// Counted from when the child got to it: without the watchdog's arrival times (Node 24) the window
		// is measured from the end of the first signal's handler (see isDuplicate in src/sequence.ts).
		await child.waitFor(/^wrapping-up$/);
		await new Promise((resolve) => setTimeout(resolve, 400));
		child.process.kill('SIGINT');
		expect(await child.closed).toEqual([1, null]);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'signal', listeners: [{ name: 'busy', outcome: 'ok' }, { name: 'slow', outcome: 'pending' }] });
	});
});

describe('a listener blocked in a system call', () => {
	for (const mode of ['exec-sleep', 'spawn-sleep']) {
		it.skipIf(process.platform !== 'linux')(`${mode}: ends at the deadline with exit 1 and the summary, and the child is not left running`, async () => {
			const marker = `30.${process.pid}${mode.length}`;
			const child = start(script, [mode], { env: { TIME_TO_FORCE_QUIT: '1000', SLEEP_MARKER: marker } });
			const sentAt = await signalWhen(child, /^ready/);
			await child.waitFor(/^wrapping-up$/);
			const [code, signal] = await child.closed;
			const elapsed = child.closedAt() - sentAt;
			expect([code, signal]).toEqual([1, null]);
			expect(elapsed).toBeLessThan(1000 + WITHIN);
			expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'blocked', listeners: [{ name: mode, outcome: 'pending' }] });
			expect(child.stderr()).toMatch(new RegExp(`shutdown forced after \\d+ ms[\\s\\S]*pending\\s+${mode}`));
			expect(processesRunning(['sleep', marker])).toEqual([]);
		});
	}
});

describe('a listener blocked in a system call that no child holds', () => {
	it.skipIf(process.platform !== 'linux')('is ended by SIGKILL at the deadline, and a child it did not wait on is left alone', async () => {
		const marker = `30.${process.pid}7`;
		const dir = mkdtempSync(join(tmpdir(), 'graceful-proc-fifo-'));
		const fifo = join(dir, 'fifo');
		execFileSync('mkfifo', [fifo]);
		const child = start(script, ['fifo-open'], { env: { TIME_TO_FORCE_QUIT: '1000', SLEEP_MARKER: marker, FIFO: fifo } });
		const bystander = Number((await child.waitFor(/^bystander (\d+)$/))[1]);
		const sentAt = await signalWhen(child, /^ready/);
		try {
			expect(await child.closed).toEqual([null, 'SIGKILL']);
			expect(child.closedAt() - sentAt).toBeLessThan(1000 + WITHIN);
			expect(processesRunning(['sleep', marker])).toEqual([bystander]);
		} finally {
			try {
				process.kill(bystander, 'SIGKILL');
			} catch {}
			rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe.skipIf(!unshare)('as PID 1 of its own PID namespace (docker run without an init)', () => {
	async function runAsPid1(file: string, args: string[], env: Record<string, string>, readyPattern: RegExp, giveUpAfter?: number) {
		// --kill-child: if this test fails, the service does not outlive unshare.
		const child = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', process.execPath, file, ...args], {
			stdio: ['ignore', 'pipe', 'pipe'],
			env: { ...process.env, ...env },
		});
		let stdout = '';
		let stderr = '';
		child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
		const ready = new Promise<void>((resolve, reject) => {
			child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
				stdout += chunk;
				if (readyPattern.test(stdout)) resolve();
			});
			child.on('close', () => reject(new Error(`closed before ready: ${stdout} ${stderr}`)));
		});
		const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
		await ready;
		// The service is unshare's only child: PID 1 inside, an ordinary pid out here.
		const inner = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim());
		const sentAt = Date.now();
		process.kill(inner, 'SIGTERM');
		// A process that cannot end itself: the test ends unshare, and --kill-child the service.
		const giveUp = giveUpAfter === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), giveUpAfter);
		const [code, signal] = await closed;
		clearTimeout(giveUp);
		return { code, signal, elapsed: Date.now() - sentAt, stdout: () => stdout, stderr: () => stderr };
	}

	it('stops cleanly on SIGTERM (its handlers run; PID 1 has no default action to fall back on)', async () => {
		const result = await runAsPid1(fixture('core-child.mjs'), ['clean'], {}, /^ready running$/m);
		expect([result.code, result.signal]).toEqual([0, null]);
		expect(result.stdout()).toMatch(/report \{"reason":"SIGTERM","outcome":"clean"/);
	});

	it.skipIf(!watchesSignals)('ends a loop blocked before SIGTERM arrived', async () => {
		const result = await runAsPid1(script, ['blocked-before'], { TIME_TO_FORCE_QUIT: '1000' }, /^blocking watching=true$/m);
		expect([result.code, result.signal]).toEqual([1, null]);
		expect(result.elapsed).toBeLessThan(1000 + WITHIN);
		expect(result.stdout()).toMatch(/"forcedBy":"blocked"/);
	});

	it('ends a listener blocked in execSync at the deadline with exit 1 and the summary, though SIGKILL to itself would be ignored', async () => {
		const marker = `30.${process.pid}1`;
		const result = await runAsPid1(script, ['exec-sleep'], { TIME_TO_FORCE_QUIT: '1000', SLEEP_MARKER: marker }, /^ready running pid=1$/m);
		expect([result.code, result.signal]).toEqual([1, null]);
		expect(result.elapsed).toBeLessThan(1000 + WITHIN);
		expect(result.stderr()).toMatch(/shutdown forced after \d+ ms[\s\S]*pending\s+exec-sleep/);
		expect(processesRunning(['sleep', marker])).toEqual([]);
	});

	it('cannot end itself when blocked in a system call no child holds: says so on stderr (an init is needed)', async () => {
		const marker = `30.${process.pid}8`;
		const dir = mkdtempSync(join(tmpdir(), 'graceful-proc-fifo-'));
		const fifo = join(dir, 'fifo');
		execFileSync('mkfifo', [fifo]);
		try {
			const result = await runAsPid1(script, ['fifo-open'], { TIME_TO_FORCE_QUIT: '500', SLEEP_MARKER: marker, FIFO: fifo }, /^ready running pid=1$/m, 2500);
			// Killed from outside by the test: SIGKILL from inside the namespace was ignored.
			expect(result.signal).toBe('SIGKILL');
			expect(result.stderr()).toMatch(/graceful-proc: the force-quit deadline passed \d+ ms ago and the process could not be ended \(it is PID 1/);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe('the deadline holds for everything after the trigger', () => {
	it('an onReport that blocks after a clean shutdown: the process exits with the report’s code by the deadline', async () => {
		const child = start(script, ['report-blocks'], { env: { TIME_TO_FORCE_QUIT: '1000' } });
		const sentAt = await signalWhen(child, /^ready/);
		await child.waitFor(/^onReport blocking$/);
		expect(await child.closed).toEqual([0, null]);
		expect(child.closedAt() - sentAt).toBeLessThan(1000 + WITHIN);
	});

	it('a logger that blocks while printing the failure summary: exit 1 by the deadline', async () => {
		const child = start(script, ['logger-blocks'], { env: { TIME_TO_FORCE_QUIT: '1000' } });
		const sentAt = await signalWhen(child, /^ready/);
		await child.waitFor(/^logger blocking$/);
		expect(await child.closed).toEqual([1, null]);
		expect(child.closedAt() - sentAt).toBeLessThan(1000 + WITHIN);
	});

	it('a loop that blocks after the deadline forced the sequence but before its report was built: exit 1 with the blocked report', async () => {
		const child = start(script, ['block-when-forced'], { env: { TIME_TO_FORCE_QUIT: '500' } });
		const sentAt = await signalWhen(child, /^ready/);
		await child.waitFor(/^blocking before the report$/);
		expect(await child.closed).toEqual([1, null]);
		expect(child.closedAt() - sentAt).toBeLessThan(500 + WITHIN);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'blocked', exitCode: 1, listeners: [{ name: 'stuck', outcome: 'pending' }] });
		expect(child.stderr()).toMatch(/^graceful-proc: shutdown forced after \d+ ms \(reason: SIGTERM\), exit code 1, forcedBy: blocked$/m);
	});

	it('150,000 listeners pending at the deadline of a blocked loop: the forced report is written, not cut by SIGKILL', async () => {
		const child = start(script, ['many'], { env: { TIME_TO_FORCE_QUIT: '1500', COUNT: '150000' } });
		await signalWhen(child, /^ready/, 'SIGTERM');
		const [code, signal] = await child.closed;
		expect([code, signal]).toEqual([1, null]);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'blocked' });
		// onReport gets every listener when the full report can be built within 700 ms after the deadline, else the
		// brief report (docs/core.md; the 50,000-listener test in proc-exit.test.ts accepts both too): on a loaded
		// machine building 150,000 rows inside the blocked loop took 120-450 ms, from D+165-290, and 1 run in 4 got
		// the brief report. Either way it is written, not cut by SIGKILL, and the summary counts every listener.
		expect([150_001, 200]).toContain(reportOf(child).count);
		expect(child.stderr()).toMatch(/shutdown forced after \d+ ms/);
		expect(child.stderr()).toContain('… and 149981 more: 149981 pending');
	});
});

describe('where no watchdog runs', () => {
	it('graceful-proc inside a worker thread never ends the whole process when a listener there blocks', async () => {
		const child = start(script, ['worker-thread']);
		await child.waitFor(/^worker blocking$/);
		// Past the worker's deadline (300 ms) and everything a watchdog would have done after it.
		await child.waitFor(/^main thread alive$/);
		expect(await child.closed).toEqual([0, null]);
		expect(child.stdout).toContain('worker terminated');
	});

	const hooks = () => Object.getOwnPropertySymbols(globalThis).filter((symbol) => symbol.description?.startsWith('graceful-proc.watchdog'));

	it('a proc with a fake process, or with exit: false, starts none', async () => {
		const before = hooks().length;
		const fake = createProc({ process: createFakeProcess() });
		const wait = fake.addWrapUpListener(() => {});
		const noExit = createProc({ exit: false, signals: ['SIGUSR2'] });
		const wait2 = noExit.addWrapUpListener(() => {});
		expect(hooks()).toHaveLength(before);
		void noExit.shutdown();
		expect(hooks()).toHaveLength(before);
		wait.remove();
		await wait2();
	});
});

describe('an idle watchdog', () => {
	it.skipIf(process.platform !== 'linux')(
		'is made neither inside the first registration nor inside a configure() after it, and a shutdown started before the next idle moment still has its deadline for a blocked loop',
		async () => {
			const child = start(script, ['block-at-once'], { env: { TIME_TO_FORCE_QUIT: '500' } });
			const startedAt = Date.now();
			const [code, signal] = await child.closed;
			expect(child.stdout).toContain('threads after registering +0');
			expect([code, signal]).toEqual([1, null]);
			expect(child.closedAt() - startedAt).toBeLessThan(500 + WITHIN + 2000);
			expect(reportOf(child)).toMatchObject({ reason: 'at once', outcome: 'forced', forcedBy: 'blocked', listeners: [{ name: 'spin', outcome: 'pending' }] });
		},
	);

	for (const when of ['booting', 'booted']) {
		it(`lets go of the signals with the last listener (${when}): SIGTERM right after that has Node’s default effect`, async () => {
			const child = start(fixture('watchdog-release.mjs'), [when]);
			expect(await child.closed).toEqual([null, 'SIGTERM']);
			expect(child.stdout).toContain('removed');
		});
	}

	it.skipIf(process.platform !== 'linux')(
		"with `watchdog: 'at-shutdown'` makes no thread while idle, and one at SIGTERM that still ends a listener blocking the loop at the deadline",
		async () => {
			const child = start(script, ['at-shutdown'], { env: { TIME_TO_FORCE_QUIT: '500' } });
			await child.waitFor(/^ready$/);
			expect(child.stdout).toContain('threads while idle +0');
			const sentAt = Date.now();
			child.process.kill('SIGTERM');
			const [code, signal] = await child.closed;
			expect([code, signal]).toEqual([1, null]);
			expect(child.closedAt() - sentAt).toBeLessThan(500 + WITHIN);
			expect(reportOf(child)).toMatchObject({ reason: 'SIGTERM', outcome: 'forced', forcedBy: 'blocked', listeners: [{ name: 'spin', outcome: 'pending' }] });
		},
	);

	it.skipIf(process.platform !== 'linux')(
		"with `watchdog: 'off'` makes no thread, idle or at SIGTERM; the main thread's timer still forces a pending listener at the deadline",
		async () => {
			const child = start(script, ['off-hang'], { env: { TIME_TO_FORCE_QUIT: '500' } });
			await child.waitFor(/^ready$/);
			expect(child.stdout).toContain('threads while idle +0');
			const sentAt = Date.now();
			child.process.kill('SIGTERM');
			const [code, signal] = await child.closed;
			expect([code, signal]).toEqual([1, null]);
			expect(child.stdout).toContain('threads at shutdown +0');
			expect(child.closedAt() - sentAt).toBeGreaterThanOrEqual(500);
			expect(child.closedAt() - sentAt).toBeLessThan(500 + WITHIN);
			expect(reportOf(child)).toMatchObject({ reason: 'SIGTERM', outcome: 'forced', forcedBy: 'deadline', listeners: [{ name: 'hang', outcome: 'pending' }] });
		},
	);

	it.skipIf(process.platform !== 'linux')(
		"with `watchdog: 'off'` gives up the deadline for a listener that blocks the loop, as documented: the process runs on",
		async () => {
			const child = start(script, ['off-block'], { env: { TIME_TO_FORCE_QUIT: '300' } });
			await child.waitFor(/^ready$/);
			child.process.kill('SIGTERM');
			// Well past the deadline and the watchdog's grace: nothing of ours ends the process (the orchestrator would).
			const outcome = await Promise.race([child.closed, new Promise((resolve) => setTimeout(() => resolve('running'), 300 + WITHIN + 1000))]);
			expect(outcome).toBe('running');
			child.process.kill('SIGKILL');
			expect(await child.closed).toEqual([null, 'SIGKILL']);
		},
	);

	it('makes no thread for a listener removed before the idle moment that would make it, and SIGTERM then has Node’s default effect', async () => {
		const child = start(fixture('watchdog-release.mjs'), ['same-tick']);
		expect(await child.closed).toEqual([null, 'SIGTERM']);
		expect(child.stdout).toContain('no thread');
		expect(child.stdout).toContain('removed');
	});

	it.skipIf(process.platform !== 'linux')('registering and removing the only listener over and over starts one thread, not one each time', async () => {
		const child = start(fixture('watchdog-release.mjs'), ['churn']);
		expect(await child.closed).toEqual([0, null]);
		// The first listener's thread (booted, then released and armed again 50 times), nothing more.
		expect(child.stdout).toContain('threads +1');
		expect(child.stdout).toContain('report clean');
	});
});
