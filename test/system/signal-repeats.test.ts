// A deliberate second signal forces the exit, whatever the load: real child processes, real signals, a ready
// handshake, and busy CPU loops beside them, on every Node the tests are given (GRACEFUL_PROC_TEST_NODES, see
// helpers/nodes.ts; else the one running them). The child's parent is this test process, a parent that sends no
// copies of its own (docs/core.md, "A repeated signal").
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, reportOf, startNode, untilIdle } from '../helpers/child.js';
import { startHogs } from '../helpers/hogs.js';
import { type TestNode, testNodes } from '../helpers/nodes.js';

const script = fixture('repeat-child.mjs');
const DEADLINE = 4000;
let hogs: { stop(): void } | undefined;
afterEach(() => {
	hogs?.stop();
	hogs = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function repeat(node: TestNode, signal: 'SIGINT' | 'SIGTERM', gap: number, mode = 'hang') {
	const child = startNode(script, [mode], { node: node.path, env: { TIME_TO_FORCE_QUIT: String(DEADLINE) } });
	await child.waitFor(/^ready/);
	// The first signal comes to a service at rest, as a person's first Ctrl+C does (the busy modes make the loop
	// busy after it): one still finishing its start reads the first signal late (Node 24 has no thread to see it
	// arrive), which is another case.
	await untilIdle(child.process.pid!);
	child.process.kill(signal);
	const firstAt = Date.now();
	// The timer may fire late on a loaded machine: the gap is then longer, never shorter.
	await sleep(gap);
	const secondAt = Date.now();
	child.process.kill(signal);
	const closed = await child.closed;
	return { closed, report: reportOf(child), sinceSecond: child.closedAt() - secondAt, sinceFirst: child.closedAt() - firstAt, stderr: child.stderr() };
}

for (const node of testNodes()) describe.each([1, 2])(`Node ${node.version}: a second signal with %i CPU hog(s) running`, (n) => {
	const cases: Array<['SIGINT' | 'SIGTERM', number]> = [
		['SIGINT', 150],
		['SIGINT', 300],
		['SIGINT', 1000],
		['SIGTERM', 150],
	];
	it.each(cases)('%s repeated %i ms after the first forces the exit at once, every time', async (signal, gap) => {
		hogs = startHogs(n);
		const { closed, report, sinceSecond, sinceFirst, stderr } = await repeat(node, signal, gap);
		expect(closed, stderr).toEqual([1, null]);
		expect(report).toMatchObject({ reason: signal, outcome: 'forced', forcedBy: 'signal', exitCode: 1, listeners: [{ name: 'stuck-queue', outcome: 'pending' }] });
		// Gone well before the deadline: the second signal ended it, not the time.
		expect(sinceFirst).toBeLessThan(DEADLINE - 1000);
		expect(sinceSecond).toBeLessThan(1000);
	});

	it('SIGINT repeated while a timer keeps the loop busy for 600 ms forces the exit as soon as the loop is free', async () => {
		hogs = startHogs(n);
		const { closed, report, sinceSecond, stderr } = await repeat(node, 'SIGINT', 150, 'busy-later');
		expect(closed, stderr).toEqual([1, null]);
		expect(report).toMatchObject({ outcome: 'forced', forcedBy: 'signal' });
		expect(sinceSecond).toBeLessThan(1500);
	});

	// Node 24 gives the watchdog thread no way to see a signal arrive: a repeat that arrived while the first
	// signal's own handler blocked is then taken as arrived with the first (docs/core.md, "A repeated signal").
	const seesArrivals = node.major < 24;
	it.skipIf(!seesArrivals)('SIGINT repeated while the first signal\'s own listener blocks the loop for 600 ms forces the exit once it returns', async () => {
		hogs = startHogs(n);
		const { closed, report, sinceSecond, stderr } = await repeat(node, 'SIGINT', 150, 'busy-first');
		expect(closed, stderr).toEqual([1, null]);
		expect(report).toMatchObject({ outcome: 'forced', forcedBy: 'signal', listeners: [{ name: 'busy', outcome: 'ok' }, { name: 'stuck-queue', outcome: 'pending' }] });
		expect(sinceSecond).toBeLessThan(1500);
	});
});

describe('a second signal during the last step', () => {
	it.each([0, 2])('SIGINT repeated while a final listener hangs (%i CPU hogs) ends the process at once, with the report\'s exit code', async (n) => {
		if (n > 0) hogs = startHogs(n);
		const child = startNode(script, ['final'], { env: { TIME_TO_FORCE_QUIT: String(DEADLINE) } });
		await child.waitFor(/^ready/);
		child.process.kill('SIGINT');
		const firstAt = Date.now();
		await child.waitFor(/^final \d+/);
		// A person's second press: later than a forwarding parent's copy would come (docs/core.md, "A repeated signal").
		await sleep(Math.max(0, firstAt + 200 - Date.now()));
		const secondAt = Date.now();
		child.process.kill('SIGINT');
		const closed = await child.closed;
		expect(closed, child.stderr()).toEqual([0, null]);
		expect(reportOf(child)).toMatchObject({ reason: 'SIGINT', outcome: 'clean', exitCode: 0, listeners: [{ name: 'stuck-queue', outcome: 'ok' }] });
		expect(child.stderr()).toMatch(/the last step was cut by a repeated SIGINT/);
		expect(child.closedAt() - secondAt).toBeLessThan(1000);
		expect(child.closedAt() - firstAt).toBeLessThan(DEADLINE - 1000);
	});
});
