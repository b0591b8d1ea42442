import { describe, expect, it } from 'vitest';
import { fixture, reportOf, startNode } from '../helpers/child.js';

const script = fixture('core-child.mjs');

describe('a real SIGTERM to a real process', () => {
	it('runs wrap-up then shutdown listeners and exits 0', async () => {
		const child = startNode(script, ['clean']);
		await child.waitFor(/^ready running$/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		expect(child.stdout).toContain('wrapping-up signal=true:SIGTERM');
		const report = reportOf(child);
		expect(report).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });
		expect(report.listeners.map((l: any) => [l.name, l.phase, l.outcome])).toEqual([
			['http', 'wrap-up', 'ok'],
			['db', 'shutdown', 'ok'],
		]);
		expect(child.stderr()).toBe('');
	});

	it('exits 1 and prints the failing listener by name on stderr', async () => {
		const child = startNode(script, ['fail']);
		await child.waitFor(/^ready/);
		child.process.kill('SIGINT');
		expect(await child.closed).toEqual([1, null]);
		expect(child.stderr()).toMatch(/shutdown failed .* exit code 1\n\s+error\s+db \(shutdown, \d+ ms\): Error: pool already closed/);
	});

	it('forces exit 1 at the deadline when a listener hangs, naming it', async () => {
		const child = startNode(script, ['hang'], { env: { TIME_TO_FORCE_QUIT: '500' } });
		await child.waitFor(/^ready/);
		const sentAt = Date.now();
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([1, null]);
		const elapsed = child.closedAt() - sentAt;
		expect(elapsed).toBeGreaterThanOrEqual(500);
		// The contract's bound for a blocked loop; a hung promise is well inside it.
		expect(elapsed).toBeLessThan(1500);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', exitCode: 1, listeners: [{ name: 'stuck-queue', outcome: 'pending' }] });
		expect(child.stderr()).toMatch(/shutdown forced after \d+ ms \(reason: SIGTERM\)[\s\S]*pending\s+stuck-queue[\s\S]*still keeping the event loop alive: .*Timeout/);
	});

	it('is gone within one second after the deadline even when a listener blocks the event loop', async () => {
		const child = startNode(script, ['block'], { env: { TIME_TO_FORCE_QUIT: '500' } });
		await child.waitFor(/^ready/);
		const sentAt = Date.now();
		child.process.kill('SIGTERM');
		await child.waitFor(/^wrapping-up$/);
		const [code] = await child.closed;
		const elapsed = child.closedAt() - sentAt;
		expect(code).toBe(1);
		expect(elapsed).toBeGreaterThanOrEqual(500);
		expect(elapsed).toBeLessThan(500 + 1000);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', listeners: [{ name: 'busy-loop', outcome: 'pending' }] });
		expect(child.stderr()).toMatch(/pending\s+busy-loop/);
	});

	it('forces the exit at once on a repeated signal', async () => {
		const child = startNode(script, ['hang'], { env: { TIME_TO_FORCE_QUIT: '20000' } });
		await child.waitFor(/^ready/);
		child.process.kill('SIGINT');
		await child.waitFor(/^wrapping-up$/);
		// Past the 100 ms window in which a repeat counts as the same Ctrl+C.
		await new Promise((resolve) => setTimeout(resolve, 150));
		const sentAt = Date.now();
		child.process.kill('SIGINT');
		expect(await child.closed).toEqual([1, null]);
		expect(child.closedAt() - sentAt).toBeLessThan(2000);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', reason: 'SIGINT' });
	});

	it("gives SIGTERM back to Node's default once the last listener is removed", async () => {
		const child = startNode(script, ['removed']);
		await child.waitFor(/^ready/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([null, 'SIGTERM']);
	});
});
