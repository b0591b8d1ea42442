// The core under Deno 2 (the `deno` dev dependency's binary), on this checkout's build: real signals, the deadline,
// and what the permission flags change. Skipped only when the binary is absent. What differs from Node, and why,
// is in docs/runtimes.md ("Deno").
import { describe, expect, it } from 'vitest';
import { type Child, fixture, reportOf } from '../helpers/child.js';
import { denoMissing, startDeno } from '../helpers/deno.js';

const script = fixture('deno-core-child.mjs');
/** The core needs no permission at all: every case runs without flags unless it says otherwise. */
const start = (mode: string, flags: string[] = []) => startDeno(script, [mode], flags);

const ENV_WARNING = /\[GRACEFUL_PROC_ENV_NOT_READABLE\] Warning: graceful-proc: the runtime does not let it read the environment variable \w+ \(Deno: --allow-env\)/;

/** How long after `sentAt` the child closed. */
async function closedAfter(child: Child, sentAt: number): Promise<{ exit: [number | null, string | null]; ms: number }> {
	const exit = await child.closed;
	return { exit, ms: child.closedAt() - sentAt };
}

describe.skipIf(denoMissing !== '')(`under Deno${denoMissing ? ` (skipped: ${denoMissing})` : ''}`, () => {
	it('createProc with a fake process runs the sequence and leaves nothing on the fake', async () => {
		const child = start('fake');
		expect(await child.closed).toEqual([0, null]);
		expect(child.stdout).toContain('fake exited=0 ran=wrap-up,shutdown listening=0');
	});

	it.each(['SIGTERM', 'SIGINT'] as const)('a real %s runs the wrap-up listener, then the shutdown listener, reports clean and exits 0', async (signal) => {
		const child = start('listener');
		await child.waitFor(/^ready watchdog=yes$/);
		child.process.kill(signal);
		expect(await child.closed, child.stderr()).toEqual([0, null]);
		expect(child.stdout).toContain(`ran wrap-up:${signal},shutdown:shutting-down exit=0`);
		expect(reportOf(child)).toMatchObject({
			reason: signal,
			outcome: 'clean',
			exitCode: 0,
			listeners: [
				{ name: 'http', phase: 'wrap-up', outcome: 'ok' },
				{ name: 'db', phase: 'shutdown', outcome: 'ok' },
			],
		});
	});

	it('without --allow-env, says once with a code that it cannot read its variables, and carries on', async () => {
		const child = start('listener');
		await child.waitFor(/^ready/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		expect(child.stderr()).toMatch(ENV_WARNING);
		expect(child.stderr().match(/GRACEFUL_PROC_ENV_NOT_READABLE/g)).toHaveLength(1);
		expect(child.stderr()).not.toMatch(/NotCapable|Uncaught/);
	});

	it('with --allow-env, nothing is said', async () => {
		const child = start('listener', ['--allow-env']);
		await child.waitFor(/^ready/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		expect(child.stderr()).toBe('');
	});

	it('the watchdog thread is made in the idle moment after the first listener, not on the shutdown path', async () => {
		// Deno runs an unref'd setImmediate only alongside a ref'd one: without src/idle-soon.ts's timer, the
		// thread would be made when SIGTERM comes (100-300 ms of the shutdown), and this line would say `no`.
		const child = start('exit-code');
		await child.waitFor(/^ready watchdog=yes$/);
		child.process.kill('SIGTERM');
		await child.closed;
	});

	it('a process whose only work was to register a listener ends by itself (the handlers keep nothing alive)', async () => {
		const child = start('idle');
		expect(await child.closed).toEqual([0, null]);
		expect(child.stdout).toEqual(['ready']);
	});

	it('once the last listener is removed, SIGTERM has its default effect again', async () => {
		const child = start('removed');
		await child.waitFor(/^ready$/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([null, 'SIGTERM']);
		expect(reportOf(child)).toBeUndefined();
	});

	it('a process.exitCode the application set is kept through a clean shutdown', async () => {
		const child = start('exit-code');
		await child.waitFor(/^ready/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([3, null]);
		expect(reportOf(child)).toMatchObject({ outcome: 'clean', exitCode: 3 });
	});

	it('a second Ctrl+C while shutting down forces the exit at once: exit 1, forcedBy signal, the listener named', async () => {
		const child = start('repeat');
		await child.waitFor(/^ready watchdog=yes$/);
		child.process.kill('SIGINT');
		await child.waitFor(/^shutting down$/);
		// A person's second Ctrl+C, well past the 100 ms in which a copy of the first would count as the same one.
		await new Promise((resolve) => setTimeout(resolve, 300));
		const sent = Date.now();
		child.process.kill('SIGINT');
		const { exit, ms } = await closedAfter(child, sent);
		expect(exit, child.stderr()).toEqual([1, null]);
		expect(ms).toBeLessThan(1000);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'signal', listeners: [{ name: 'slow', outcome: 'pending' }] });
	});

	it('the force-quit deadline with a hung listener: exit 1 on time, the pending listener named', async () => {
		const child = start('pending');
		await child.waitFor(/^ready/);
		const sent = Date.now();
		child.process.kill('SIGTERM');
		const { exit, ms } = await closedAfter(child, sent);
		expect(exit, child.stderr()).toEqual([1, null]);
		expect(ms).toBeGreaterThanOrEqual(1000 - 50);
		expect(ms).toBeLessThan(1000 + 1000);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'deadline', exitCode: 1, listeners: [{ name: 'stuck', outcome: 'pending' }] });
		expect(child.stderr()).toContain('pending stuck (shutdown');
	});

	// Deno's main thread waits in wait4 for a synchronous child; the watchdog ends that child (reading /proc, which
	// Deno allows only with -A), the call returns, and the proc's own overdue timer ends the sequence.
	it('a listener stuck in execSync past the deadline (-A): its child is ended, the listener fails with its error, exit 1 with the report', async () => {
		const child = start('exec', ['-A']);
		await child.waitFor(/^ready watchdog=yes$/);
		const sent = Date.now();
		child.process.kill('SIGTERM');
		const { exit, ms } = await closedAfter(child, sent);
		expect(exit, child.stderr()).toEqual([1, null]);
		expect(ms).toBeLessThan(1000 + 1000);
		expect(reportOf(child)).toMatchObject({ exitCode: 1, listeners: [{ name: 'stuck', outcome: 'error', error: { message: expect.stringMatching(/^Command failed: sleep 30/) } }] });
	});

	// Deno has no inspector session into the main thread (`connectToMainThread()` throws), which is how the watchdog
	// runs the report on a blocked loop under Node; it asks for --allow-sys before any session, which at a terminal
	// is a prompt. So the watchdog never asks without the permission, and its last resort, SIGKILL, still keeps the
	// deadline: gone in time, without a report, with one line on stderr that says why.
	it.each([
		['without flags', [], 'Deno opens an inspector session only with --allow-sys'],
		['with -A', ['-A'], ''],
	])('a listener that blocks the event loop (%s): SIGKILL within a second of the deadline, and a line saying why', async (_, flags, why) => {
		const child = start('block', flags);
		await child.waitFor(/^ready watchdog=yes$/);
		const sent = Date.now();
		child.process.kill('SIGTERM');
		await child.waitFor(/^stuck$/);
		const { exit, ms } = await closedAfter(child, sent);
		expect(exit, child.stderr()).toEqual([null, 'SIGKILL']);
		expect(ms).toBeGreaterThanOrEqual(1000);
		expect(ms).toBeLessThan(1000 + 1000);
		expect(reportOf(child)).toBeUndefined();
		expect(child.stderr()).toMatch(/the force-quit deadline passed \d+ ms ago and the event loop is still blocked, with no report: the watchdog cannot reach the main thread without the inspector \(.+\): SIGKILL/);
		if (why) expect(child.stderr()).toContain(`(${why})`);
		else expect(child.stderr()).not.toContain('--allow-sys');
	});
});
