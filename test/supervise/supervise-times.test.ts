import { describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { supervise } from '../../src/supervise/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { fixture } from '../helpers/child.js';
import { isRunning, killLeftoversAfterEach, Lines, stopAfterEach } from '../helpers/supervise.js';

const leftovers = killLeftoversAfterEach();
const handles = stopAfterEach();

function setup() {
	const fake = createFakeProcess();
	const proc = createProc({ process: fake, exit: false, logger: false });
	return { fake, proc };
}

describe("a supervised child's stopTimeout fits in the proc's times by itself", () => {
	it('raises a force-quit time the user did not set to hold stopTimeout after the wrap-up phase, and gives it back when the handle is done', async () => {
		const { proc } = setup();
		const before = proc.timeToForceQuit;
		const handle = supervise('sleep', ['30'], { name: 'slow-stopper', proc, stopTimeout: 8000, watchdog: false });
		handles.push(handle);
		// The wrap-up phase, then stopTimeout, then the SIGKILL margin: all before the deadline.
		expect(proc.timeToForceQuit).toBeGreaterThanOrEqual(proc.timeToWrapUp + 8000 + 100);
		await handle.stop();
		expect(proc.timeToForceQuit).toBe(before);
	});

	it('leaves the force-quit time alone when stopTimeout fits in the default', async () => {
		const { proc } = setup();
		const before = proc.timeToForceQuit;
		const handle = supervise('sleep', ['30'], { name: 'quick', proc, stopTimeout: 1000, watchdog: false });
		handles.push(handle);
		expect(proc.timeToForceQuit).toBe(before);
	});

	it('with the default times, lets a child that takes 5.8 s to clean up (stopTimeout 7 s) finish: exit code 0, outcome clean', async () => {
		const { proc } = setup();
		const out = new Lines();
		const handle = supervise(process.execPath, [fixture('supervise-graceful.mjs'), '5800'], {
			name: 'cleaner',
			proc,
			stdio: 'pipe',
			stdout: out,
			stopTimeout: 7000,
			startSecs: 0,
			watchdog: false,
		});
		handles.push(handle);
		const [, pid] = (await out.waitFor(/^\[cleaner\] ready (\d+)$/))!;
		leftovers.push(Number(pid));
		const report = await proc.shutdown('test');
		expect(out.lines).toContain('[cleaner] cleaned');
		expect([handle.exitCode, handle.signalCode]).toEqual([0, null]);
		expect(report.outcome).toBe('clean');
		expect(isRunning(Number(pid))).toBe(false);
	}, 20_000);
});
