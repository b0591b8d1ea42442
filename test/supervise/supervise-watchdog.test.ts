// The parent side of the watchdog, white-box: its own instance, so the test can end its pipe (which is what
// the parent's death does) without dying.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ParentWatchdog } from '../../src/supervise/parent-watchdog.js';
import { fixture } from '../helpers/child.js';
import { isRunning, waitUntilGone } from '../helpers/supervise.js';

const spawned: ChildProcess[] = [];
afterEach(() => {
	for (const child of spawned.splice(0)) child.kill('SIGKILL');
});

/** A child that prints `ready <pid>` once its SIGTERM handler is installed (the stubborn one ignores SIGTERM). */
async function startChild(script: string): Promise<ChildProcess> {
	const child = spawn(process.execPath, [fixture(script)], { stdio: ['ignore', 'pipe', 'ignore'] });
	spawned.push(child);
	const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
	expect(chunk.toString()).toMatch(/^ready \d+/);
	return child;
}

async function newPid(watchdog: ParentWatchdog, old: number | undefined, timeoutMs = 10_000): Promise<number> {
	const deadline = Date.now() + timeoutMs;
	while (watchdog.pid === undefined || watchdog.pid === old) {
		if (Date.now() > deadline) throw new Error('no new watchdog');
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	return watchdog.pid;
}

describe('the watchdog stops the watched children when its pipe closes', () => {
	it('sends the stop signal, then SIGKILL after the timeout, and exits', async () => {
		const watchdog = new ParentWatchdog();
		watchdog.acquire();
		watchdog.ensure();
		const pid = watchdog.pid!;
		const graceful = await startChild('supervise-graceful.mjs');
		const stubborn = await startChild('supervise-stubborn.mjs');
		watchdog.watch(graceful.pid!, false, 'SIGTERM', 10_000);
		watchdog.watch(stubborn.pid!, false, 'SIGTERM', 300);
		const gracefulExit = once(graceful, 'exit');
		const stubbornExit = once(stubborn, 'exit');
		// Ending the pipe while children are watched is what the parent's death looks like from the watchdog.
		watchdog.release();
		expect(await gracefulExit).toEqual([0, null]);
		expect(await stubbornExit).toEqual([null, 'SIGKILL']);
		expect(await waitUntilGone([pid])).toEqual([]);
	});

	it('does not send the stop signal twice for a stop already under way, and kills at its kill time', async () => {
		const watchdog = new ParentWatchdog();
		watchdog.acquire();
		watchdog.ensure();
		const stubborn = await startChild('supervise-stubborn.mjs');
		let ignored = 0;
		stubborn.stdout!.on('data', (chunk: Buffer) => {
			ignored += chunk.toString().split('ignored SIGTERM').length - 1;
		});
		watchdog.watch(stubborn.pid!, false, 'SIGTERM', 60_000);
		stubborn.kill('SIGTERM'); // the parent's own stop signal ...
		watchdog.stopping(stubborn.pid!, Date.now() + 300); // ... and the kill time it announced
		// 'close': after the last output, so that every 'ignored SIGTERM' line is counted.
		const closed = once(stubborn, 'close');
		watchdog.release();
		expect(await closed).toEqual([null, 'SIGKILL']);
		expect(ignored).toBe(1);
	});

	it('leaves alone a child it was told is gone, and exits with nothing to do', async () => {
		const watchdog = new ParentWatchdog();
		watchdog.acquire();
		watchdog.ensure();
		const pid = watchdog.pid!;
		const graceful = await startChild('supervise-graceful.mjs');
		watchdog.watch(graceful.pid!, false, 'SIGTERM', 1000);
		watchdog.unwatch(graceful.pid!);
		watchdog.release();
		expect(await waitUntilGone([pid])).toEqual([]);
		expect(isRunning(graceful.pid!)).toBe(true);
	});

	it('is replaced, with everything it was told, when someone kills it', async () => {
		const watchdog = new ParentWatchdog({ minLifetimeMs: 0 });
		watchdog.acquire();
		watchdog.ensure();
		const first = watchdog.pid!;
		const graceful = await startChild('supervise-graceful.mjs');
		watchdog.watch(graceful.pid!, false, 'SIGTERM', 10_000);
		process.kill(first, 'SIGKILL');
		const second = await newPid(watchdog, first);
		expect(second).not.toBe(first);
		const exited = once(graceful, 'exit');
		watchdog.release();
		// Only the replacement can have stopped it: it learnt about the child from the replay.
		expect(await exited).toEqual([0, null]);
		expect(await waitUntilGone([second])).toEqual([]);
	});
});
