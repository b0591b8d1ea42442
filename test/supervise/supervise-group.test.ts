import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { type SuperviseOptions, supervise } from '../../src/supervise/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { fixture } from '../helpers/child.js';
import { isRunning, killLeftoversAfterEach, Lines, stateReached, stopAfterEach, waitUntilGone } from '../helpers/supervise.js';

// Stopped first, then the strays are killed (afterEach hooks run last registered first).
const strays = killLeftoversAfterEach();
const handles = stopAfterEach();

function start(args: string[], options: SuperviseOptions) {
	const out = new Lines();
	const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
	const handle = supervise(process.execPath, [fixture('supervise-spawner.mjs'), ...args], { name: 'spawner', stdio: 'pipe', stdout: out, proc, ...options });
	handles.push(handle);
	return { handle, out };
}

async function grandchildOf(out: Lines): Promise<number> {
	const [, pid] = (await out.waitFor(/^\[spawner\] grandchild (\d+)$/))!;
	strays.push(Number(pid));
	await out.waitFor(/^\[spawner\] ready/);
	return Number(pid);
}

describe('killGroup: the child and its own children stop together', () => {
	it('stops the grandchildren with the child', async () => {
		const { handle, out } = start([], { killGroup: true });
		const grandchild = await grandchildOf(out);
		expect(isRunning(grandchild)).toBe(true);
		await handle.stop();
		expect(handle.exitCode).toBe(0);
		expect(await waitUntilGone([grandchild])).toEqual([]);
	});

	it('kills a grandchild that ignores SIGTERM as soon as the child has exited, without waiting for stopTimeout', async () => {
		const { handle, out } = start(['--stubborn-grandchild'], { killGroup: true, stopTimeout: 60_000 });
		const grandchild = await grandchildOf(out);
		await handle.stop();
		expect(await waitUntilGone([grandchild], 5000)).toEqual([]);
	});

	it('kills what a crashed child left behind, so that restarts do not pile up strays', async () => {
		const { handle, out } = start(['--crash'], { killGroup: true, startSecs: 30, backoff: { initial: 60_000 } });
		const grandchild = await grandchildOf(out);
		await stateReached(handle, 'backoff');
		expect(handle.exitCode).toBe(1);
		expect(await waitUntilGone([grandchild])).toEqual([]);
	});

	it('without killGroup, a grandchild outlives its parent (what killGroup is for)', async () => {
		const { handle, out } = start([], { killGroup: false });
		const grandchild = await grandchildOf(out);
		await handle.stop();
		expect(handle.exitCode).toBe(0);
		expect(isRunning(grandchild)).toBe(true);
	});
});
