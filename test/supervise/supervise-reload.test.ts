import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { type SupervisedProcess, SuperviseError, type SuperviseOptions, supervise } from '../../src/supervise/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { fixture } from '../helpers/child.js';
import { isRunning, killLeftoversAfterEach, Lines, recordStates, stateReached, stopAfterEach } from '../helpers/supervise.js';

const leftovers = killLeftoversAfterEach();
let dir: string;
let version: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'graceful-proc-reload-'));
	version = join(dir, 'version');
	await writeFile(version, 'good');
});

afterEach(async () => {
	await rm(dir, { recursive: true, force: true });
});
// Registered after the folder's removal, so that it runs first: the children are stopped, then their folder goes.
const handles = stopAfterEach();

function setup() {
	const fake = createFakeProcess();
	const proc = createProc({ process: fake, exit: false, logger: false });
	return { fake, proc };
}

function start(options: SuperviseOptions) {
	const out = new Lines();
	const handle = supervise(process.execPath, [fixture('supervise-versioned.mjs'), version], {
		name: 'app',
		stdio: 'pipe',
		stdout: out,
		startSecs: 0.3,
		watchdog: false,
		...options,
	});
	handles.push(handle);
	return { handle, out };
}

/** The pids of every `ready <pid>` / `started <pid>` line so far, also registered to be killed after the test. */
function pidsSeen(out: Lines): number[] {
	const pids = out.lines.flatMap((line) => {
		const match = /^\[app\] (?:ready|started) (\d+)$/.exec(line);
		return match ? [Number(match[1])] : [];
	});
	leftovers.push(...pids);
	return pids;
}

async function running(handle: SupervisedProcess, out: Lines): Promise<number> {
	await stateReached(handle, 'running');
	const [, pid] = (await out.waitFor(/^\[app\] ready (\d+)$/))!;
	leftovers.push(Number(pid));
	return Number(pid);
}

describe('reload() replaces a running child gracefully', () => {
	it('starts the new child first, stops the old one once the new one counts as started, and resolves once the old one has exited', async () => {
		const { fake, proc } = setup();
		// startSecs long enough that the replacement is seen before it takes over, on a loaded machine too.
		const { handle, out } = start({ proc, watchdog: true, startSecs: 1.5 });
		const oldPid = await running(handle, out);
		const states = recordStates(handle);
		const exits: Array<[number | null, NodeJS.Signals | null]> = [];
		handle.on('exit', (code, signal) => exits.push([code, signal]));
		// At the moment the new child takes over, the old one is still running.
		let oldAliveAtTakeOver: boolean | undefined;
		handle.on('state', (state) => {
			if (state === 'running') oldAliveAtTakeOver = isRunning(oldPid);
		});

		const reloaded = handle.reload();
		expect(handle.reload()).toBe(reloaded);
		const [, newPidText] = (await out.waitFor(/^\[app\] ready (\d+)$/, { from: out.lines.length }))!;
		const newPid = Number(newPidText);
		leftovers.push(newPid);
		expect(newPid).not.toBe(oldPid);
		// Both run while the replacement starts; the handle still points at the old one.
		expect(isRunning(oldPid)).toBe(true);
		expect(handle.pid).toBe(oldPid);
		expect(handle.state).toBe('starting');

		await reloaded;
		expect(oldAliveAtTakeOver).toBe(true);
		expect(isRunning(oldPid)).toBe(false);
		expect(isRunning(newPid)).toBe(true);
		expect(handle.pid).toBe(newPid);
		expect(handle.state).toBe('running');
		expect(handle.restarts).toBe(1);
		expect(states.map((s) => s.state)).toEqual(['starting', 'running']);
		// The old child was stopped as stop() does: SIGTERM, its cleanup, exit code 0.
		expect(out.lines).toContain(`[app] stopping ${oldPid}`);
		expect(out.lines).toContain(`[app] cleaned ${oldPid}`);
		expect(exits).toEqual([[0, null]]);
		expect(out.lines).not.toContain(`[app] stopping ${newPid}`);

		await handle.stop();
		expect(isRunning(newPid)).toBe(false);
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('sends SIGKILL to an old child that ignores the stop signal, after stopTimeout', async () => {
		const { proc } = setup();
		await writeFile(version, 'stubborn');
		const { handle, out } = start({ proc, stopTimeout: 300 });
		const oldPid = await running(handle, out);
		await writeFile(version, 'good');
		const exits: Array<[number | null, NodeJS.Signals | null]> = [];
		handle.on('exit', (code, signal) => exits.push([code, signal]));
		await handle.reload();
		expect(out.lines).toContain(`[app] stopping ${oldPid}`);
		expect(exits).toEqual([[null, 'SIGKILL']]);
		expect(isRunning(oldPid)).toBe(false);
		expect(isRunning(handle.pid!)).toBe(true);
	});
});

describe('a replacement that fails to start leaves the old child running', () => {
	it('rejects with the exit code when the replacement exits before startSecs', async () => {
		const { proc } = setup();
		// startSecs well above node's start-up time on a loaded machine, so that the crash comes first.
		const { handle, out } = start({ proc, startSecs: 2 });
		const oldPid = await running(handle, out);
		const states = recordStates(handle);
		await writeFile(version, 'crash 3');
		const error = await handle.reload().then(
			() => undefined,
			(e: unknown) => e,
		);
		expect(error).toBeInstanceOf(SuperviseError);
		expect((error as SuperviseError).message).toBe(
			'The replacement for `app` ended with exit code 3 before it counted as started (2s); the old child keeps running',
		);
		expect((error as SuperviseError).exitCode).toBe(3);
		expect(pidsSeen(out)).toHaveLength(2);
		expect(isRunning(oldPid)).toBe(true);
		expect(handle.pid).toBe(oldPid);
		expect(handle.state).toBe('running');
		expect(handle.restarts).toBe(0);
		expect(states.map((s) => s.state)).toEqual(['starting', 'running']);
		expect(out.lines).not.toContain(`[app] stopping ${oldPid}`);

		// A later reload with a good version works.
		await writeFile(version, 'good');
		await handle.reload();
		expect(isRunning(oldPid)).toBe(false);
		expect(handle.restarts).toBe(1);
	});

	it('rejects with the spawn error when the replacement cannot be spawned', async () => {
		const { proc } = setup();
		const cwd = join(dir, 'cwd');
		await mkdir(cwd);
		const { handle, out } = start({ proc, cwd });
		const oldPid = await running(handle, out);
		// The working directory is gone: the next spawn fails with ENOENT.
		await rm(cwd, { recursive: true });
		await expect(handle.reload()).rejects.toThrow(/^Could not start a replacement for `app` \(spawn .*ENOENT\); the old child keeps running$/);
		expect(isRunning(oldPid)).toBe(true);
		expect(handle.pid).toBe(oldPid);
		expect(handle.state).toBe('running');
		expect(handle.restarts).toBe(0);
	});
});

describe('reload() and stopping', () => {
	it('rejects during shutdown', async () => {
		const { proc } = setup();
		const { handle, out } = start({ proc });
		await running(handle, out);
		let release!: () => void;
		proc.addWrapUpListener(() => new Promise<void>((resolve) => (release = resolve)), { name: 'hold' });
		const shutdown = proc.shutdown('test');
		await expect(handle.reload()).rejects.toThrow('Cannot reload `app`: shutdown has started');
		release();
		await shutdown;
		expect(handle.state).toBe('exited');
	});

	it('rejects when no child is running', async () => {
		const { proc } = setup();
		const { handle, out } = start({ proc });
		expect(handle.state).toBe('starting');
		await expect(handle.reload()).rejects.toThrow("Cannot reload `app`: it is starting, and reload() replaces a running child (wait for 'running', or use restart())");
		await running(handle, out);
		await handle.stop();
		await expect(handle.reload()).rejects.toThrow('Cannot reload `app`: it is exited');
	});

	it('stop() during a reload stops both children and rejects the reload', async () => {
		const { fake, proc } = setup();
		const { handle, out } = start({ proc, startSecs: 2 });
		const oldPid = await running(handle, out);
		const reloaded = handle.reload();
		const [, newPid] = (await out.waitFor(/^\[app\] ready (\d+)$/, { from: out.lines.length }))!;
		leftovers.push(Number(newPid));
		// Well inside the replacement's startSecs.
		await handle.stop();
		await expect(reloaded).rejects.toThrow('The reload of `app` was cancelled: the child is being stopped');
		expect(isRunning(oldPid)).toBe(false);
		expect(isRunning(Number(newPid))).toBe(false);
		expect(out.lines).toContain(`[app] cleaned ${oldPid}`);
		expect(out.lines).toContain(`[app] cleaned ${newPid}`);
		expect(handle.state).toBe('exited');
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('a shutdown during a reload stops both children, and the report waits for both', async () => {
		const { proc } = setup();
		const { handle, out } = start({ proc, startSecs: 2 });
		const oldPid = await running(handle, out);
		const reloaded = handle.reload();
		const [, newPid] = (await out.waitFor(/^\[app\] ready (\d+)$/, { from: out.lines.length }))!;
		leftovers.push(Number(newPid));
		const report = await proc.shutdown('test');
		await expect(reloaded).rejects.toThrow('The reload of `app` was cancelled: shutdown has started');
		expect(report.outcome).toBe('clean');
		expect(report.listeners.map((l) => [l.name, l.outcome])).toEqual([['supervise:app', 'ok']]);
		expect(isRunning(oldPid)).toBe(false);
		expect(isRunning(Number(newPid))).toBe(false);
		expect(handle.state).toBe('exited');
	});

	it('a shutdown after the replacement took over waits for the old child too', async () => {
		const { proc } = setup();
		await writeFile(version, 'good 600');
		const { handle, out } = start({ proc });
		const oldPid = await running(handle, out);
		const reloaded = handle.reload();
		await stateReached(handle, 'running');
		// The old child is cleaning up (600 ms) now; shutdown must not end before it has.
		expect(isRunning(oldPid)).toBe(true);
		const newPid = handle.pid!;
		const report = await proc.shutdown('test');
		expect(report.outcome).toBe('clean');
		expect(isRunning(oldPid)).toBe(false);
		expect(isRunning(newPid)).toBe(false);
		expect(out.lines).toContain(`[app] cleaned ${oldPid}`);
		await reloaded;
	});

	it('when the old child exits by itself while the replacement starts, the replacement takes over', async () => {
		const { proc } = setup();
		const { handle, out } = start({ proc, startSecs: 2 });
		const oldPid = await running(handle, out);
		const reloaded = handle.reload();
		const [, newPid] = (await out.waitFor(/^\[app\] ready (\d+)$/, { from: out.lines.length }))!;
		leftovers.push(Number(newPid));
		process.kill(oldPid, 'SIGKILL');
		await reloaded;
		expect(handle.pid).toBe(Number(newPid));
		expect(handle.state).toBe('running');
		expect(handle.restarts).toBe(1);
		expect([handle.exitCode, handle.signalCode]).toEqual([null, 'SIGKILL']);
		expect(isRunning(Number(newPid))).toBe(true);
	});
});
