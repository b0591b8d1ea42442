import { describe, expect, it } from 'vitest';
import { createHealthTicker } from '../../src/health/index.js';
import { createProc } from '../../src/index.js';
import { supervise } from '../../src/supervise/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { isRunning, stateReached, stopAfterEach } from '../helpers/supervise.js';

const handles = stopAfterEach();

function collectWarnings() {
	const warnings: Error[] = [];
	const onWarning = (warning: Error) => warnings.push(warning);
	process.on('warning', onWarning);
	return { warnings, done: () => process.off('warning', onWarning) };
}

describe('many supervised children on one proc', () => {
	it('ten children and a health ticker raise no MaxListenersExceededWarning, and shutdown still stops every child', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false });
		const { warnings, done } = collectWarnings();
		try {
			const ticker = createHealthTicker({ checks: { self: () => true }, proc });
			for (let i = 0; i < 10; i++) {
				handles.push(supervise('sleep', ['30'], { name: `sleeper-${i}`, proc, startSecs: 0, watchdog: false }));
			}
			await Promise.all(handles.map((handle) => stateReached(handle, 'running')));
			const pids = handles.map((handle) => handle.pid!);
			// Node reports the warning on a later tick.
			await new Promise((resolve) => setTimeout(resolve, 50));
			expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);

			const report = await proc.shutdown('test');
			expect(report.outcome).toBe('clean');
			expect(handles.map((handle) => handle.state)).toEqual(Array(10).fill('exited'));
			expect(pids.filter(isRunning)).toEqual([]);
			expect(ticker.status().ready).toBe(false);
			expect(warnings.map((w) => w.message)).toEqual([]);
		} finally {
			done();
		}
	});

	it('children stopped before shutdown leave no listener on the proc signal, and the others still hear it', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false });
		const first = supervise('sleep', ['30'], { name: 'first', proc, startSecs: 0, watchdog: false });
		const second = supervise('sleep', ['30'], { name: 'second', proc, startSecs: 0, watchdog: false, restart: 'always' });
		handles.push(first, second);
		await Promise.all([stateReached(first, 'running'), stateReached(second, 'running')]);
		await first.stop();
		// Shutdown has started: the second child, killed from outside now, must not be started again.
		const shutdown = proc.shutdown('test');
		process.kill(second.pid!, 'SIGKILL');
		await shutdown;
		expect(second.state).toBe('exited');
		expect(second.restarts).toBe(0);
		expect(fake.listenedEvents()).toEqual([]);
	});
});
