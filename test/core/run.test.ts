import { describe, expect, it } from 'vitest';
import { createProc, run } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { fixture, startNode } from '../helpers/child.js';

function setup() {
	const fake = createFakeProcess();
	return { fake, proc: createProc({ process: fake, logger: false }) };
}

describe('run(main)', () => {
	it('installs the signal handlers before main runs, so a signal main provokes at once is handled', async () => {
		const { fake, proc } = setup();
		let listened: string[] = [];
		const done = run(
			({ signal }) => {
				listened = fake.listenedEvents();
				const stopped = new Promise((resolve) => signal.addEventListener('abort', resolve));
				fake.kill('SIGTERM');
				return stopped;
			},
			{ proc },
		);
		expect(listened).toContain('SIGTERM');
		expect((await done).reason).toBe('SIGTERM');
		expect(await fake.exited).toBe(0);
		expect(fake.signalCode).toBeUndefined();
	});

	it('runs the shutdown sequence with exit code 0 when main returns', async () => {
		const { fake, proc } = setup();
		const cleaned: string[] = [];
		proc.addShutdownListener(() => void cleaned.push('db'));
		const report = await run(async () => 'done', { proc });
		expect(report.outcome).toBe('clean');
		expect(report.reason).toBe('main returned');
		expect(cleaned).toEqual(['db']);
		expect(await fake.exited).toBe(0);
	});

	it('exits 1 when main throws, after running the listeners', async () => {
		const { fake, proc } = setup();
		const cleaned: string[] = [];
		proc.addShutdownListener(() => void cleaned.push('db'));
		const error = new Error('crashed');
		const report = await run(
			() => {
				throw error;
			},
			{ proc },
		);
		expect(report.reason).toBe(error);
		expect(report.exitCode).toBe(1);
		expect(cleaned).toEqual(['db']);
		expect(await fake.exited).toBe(1);
	});

	it('aborts ctx.signal on a signal and waits for main to return, exit code 0', async () => {
		const { fake, proc } = setup();
		let stoppedCleanly = false;
		const done = run(
			async ({ signal }) => {
				while (!signal.aborted) await new Promise((r) => setTimeout(r, 5));
				await new Promise((r) => setTimeout(r, 20));
				stoppedCleanly = true;
			},
			{ proc },
		);
		await new Promise((r) => setTimeout(r, 10));
		fake.kill('SIGTERM');
		const report = await done;
		expect(stoppedCleanly).toBe(true);
		expect(report.reason).toBe('SIGTERM');
		expect(report.listeners).toEqual([expect.objectContaining({ name: 'main', phase: 'wrap-up', outcome: 'ok' })]);
		expect(await fake.exited).toBe(0);
	});

	it('treats main rejecting with the abort it was given as a clean stop', async () => {
		const { fake, proc } = setup();
		const done = run(
			({ signal }) =>
				new Promise((_, reject) => {
					signal.addEventListener('abort', () => reject(signal.reason));
				}),
			{ proc },
		);
		fake.kill('SIGTERM');
		expect((await done).outcome).toBe('clean');
		expect(await fake.exited).toBe(0);
	});

	it('exits 1 when main fails with another error while stopping', async () => {
		const { fake, proc } = setup();
		const done = run(
			({ signal }) =>
				new Promise((_, reject) => {
					signal.addEventListener('abort', () => reject(new Error('flush failed')));
				}),
			{ proc },
		);
		fake.kill('SIGTERM');
		expect((await done).listeners[0]).toMatchObject({ name: 'main', outcome: 'error' });
		expect(await fake.exited).toBe(1);
	});
});

describe('run(main) in a real process', () => {
	it('keeps the process alive while main only awaits its signal, then stops cleanly on SIGTERM', async () => {
		const child = startNode(fixture('run-waits.mjs'));
		await child.waitFor(/^ready$/);
		// Before, the process exited 0 here on its own, without a signal and without running any listener.
		await new Promise((resolve) => setImmediate(resolve));
		expect(child.process.exitCode).toBe(null);
		child.process.kill('SIGTERM');
		const [, report] = (await child.waitFor(/^report (.*)$/))!;
		expect(JSON.parse(report!)).toEqual({ outcome: 'clean', reason: 'SIGTERM', exitCode: 0, listeners: [['main', 'ok']] });
		expect(child.stdout).toContain('main saw the signal');
		expect(await child.closed).toEqual([0, null]);
	});
});
