import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { type SuperviseOptions, supervise } from '../../src/supervise/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { fixture } from '../helpers/child.js';
import { isRunning, Lines, recordStates, spawnedProcessHandles, stateReached, stopAfterEach } from '../helpers/supervise.js';

const handles = stopAfterEach();

function setup(options: { timeToForceQuit?: number } = {}) {
	const fake = createFakeProcess();
	const proc = createProc({ process: fake, exit: false, logger: false, ...options });
	return { fake, proc };
}

function start(script: string, args: string[], options: SuperviseOptions) {
	const out = new Lines();
	const handle = supervise(process.execPath, [fixture(script), ...args], { stdio: 'pipe', stdout: out, ...options });
	handles.push(handle);
	return { handle, out };
}

describe('stop()', () => {
	it('sends SIGTERM and waits for a child that cleans up within stopTimeout', async () => {
		const { fake, proc } = setup();
		const { handle, out } = start('supervise-graceful.mjs', ['100'], { name: 'graceful', proc });
		const [, pid] = (await out.waitFor(/^\[graceful\] ready (\d+)$/))!;
		expect(handle.pid).toBe(Number(pid));
		const states = recordStates(handle);
		await handle.stop();
		expect(out.lines).toContain('[graceful] stopping SIGTERM');
		expect(out.lines).toContain('[graceful] cleaned');
		expect(handle.state).toBe('exited');
		// It ended by itself: exit code 0, not SIGKILL.
		expect([handle.exitCode, handle.signalCode]).toEqual([0, null]);
		expect(handle.pid).toBeUndefined();
		expect(isRunning(Number(pid))).toBe(false);
		expect(states.map((s) => s.state)).toEqual(['stopping', 'exited']);
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('sends SIGKILL to a child that ignores SIGTERM once stopTimeout has passed', async () => {
		const { proc } = setup();
		const { handle, out } = start('supervise-stubborn.mjs', [], { name: 'stubborn', proc, stopTimeout: 300 });
		await out.waitFor(/^\[stubborn\] ready \d+$/);
		const startedAt = performance.now();
		await handle.stop();
		const took = performance.now() - startedAt;
		expect(out.lines).toContain('[stubborn] ignored SIGTERM');
		expect([handle.exitCode, handle.signalCode]).toEqual([null, 'SIGKILL']);
		expect(took).toBeGreaterThanOrEqual(295);
		expect(handle.state).toBe('exited');
	});

	it('uses stopSignal instead of SIGTERM when given', async () => {
		const { proc } = setup();
		const { handle, out } = start('supervise-graceful.mjs', ['10'], { name: 'g', proc, stopSignal: 'SIGINT' });
		await out.waitFor(/^\[g\] ready/);
		await handle.stop();
		expect(out.lines).toContain('[g] stopping SIGINT');
		expect(handle.exitCode).toBe(0);
	});

	it('returns the same promise while stopping, and resolves at once when already stopped', async () => {
		const { proc } = setup();
		const { handle, out } = start('supervise-graceful.mjs', ['50'], { name: 'g', proc });
		await out.waitFor(/^\[g\] ready/);
		const first = handle.stop();
		expect(handle.stop()).toBe(first);
		await first;
		await expect(handle.stop()).resolves.toBeUndefined();
		expect(out.lines.filter((line) => line.startsWith('[g] stopping'))).toHaveLength(1);
	});

	it('ends a child in backoff at once, without starting it again', async () => {
		const { fake, proc } = setup();
		const { handle } = start('supervise-exit.mjs', ['1'], { proc, startSecs: 30, backoff: { initial: 60_000 } });
		await stateReached(handle, 'backoff');
		await handle.stop();
		expect(handle.state).toBe('exited');
		expect(handle.restarts).toBe(0);
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('before the first spawn, spawns nothing at all', async () => {
		const { fake, proc } = setup();
		const before = spawnedProcessHandles();
		const { handle } = start('supervise-graceful.mjs', [], { proc });
		const exited: unknown[] = [];
		handle.on('exit', (...args) => exited.push(args));
		await handle.stop();
		await new Promise((resolve) => setImmediate(resolve));
		expect(spawnedProcessHandles()).toBe(before);
		expect(handle.state).toBe('exited');
		expect(handle.pid).toBeUndefined();
		expect(exited).toEqual([]);
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('leaves nothing behind: the shutdown listener is removed from the proc', async () => {
		const { fake, proc } = setup();
		const { handle, out } = start('supervise-graceful.mjs', ['10'], { name: 'gone', proc });
		await out.waitFor(/^\[gone\] ready/);
		expect(fake.listenedEvents()).toEqual(expect.arrayContaining(['SIGTERM', 'SIGINT']));
		await handle.stop();
		expect(fake.listenedEvents()).toEqual([]);
		const report = await proc.shutdown('later');
		expect(report.listeners.map((l) => l.name)).not.toContain('supervise:gone');
	});
});

describe('restart()', () => {
	it('stops the running child gracefully, starts a new one at once and counts it', async () => {
		const { proc } = setup();
		const { handle, out } = start('supervise-graceful.mjs', ['20'], { name: 'r', proc, backoff: { initial: 60_000 } });
		const [, first] = (await out.waitFor(/^\[r\] ready (\d+)$/))!;
		const from = out.lines.length;
		await handle.restart();
		expect(out.lines).toContain('[r] cleaned');
		expect(handle.restarts).toBe(1);
		expect(handle.pid).toBeDefined();
		const [, second] = (await out.waitFor(/^\[r\] ready (\d+)$/, { from }))!;
		expect(second).not.toBe(first);
		expect(handle.pid).toBe(Number(second));
		expect(isRunning(Number(first))).toBe(false);
		expect(['starting', 'running']).toContain(handle.state);
	});

	it('brings back a child that had exited, with its shutdown listener', async () => {
		const { fake, proc } = setup();
		const { handle } = start('supervise-exit.mjs', ['0'], { proc });
		await stateReached(handle, 'exited');
		expect(fake.listenedEvents()).toEqual([]);
		await handle.restart();
		expect(handle.restarts).toBe(1);
		expect(fake.listenedEvents()).toEqual(expect.arrayContaining(['SIGTERM']));
		await stateReached(handle, 'exited');
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('brings back a fatal child, and forgets why it was fatal', async () => {
		const { proc } = setup();
		const { handle } = start('supervise-exit.mjs', ['1'], { proc, startSecs: 30, maxRestarts: 0 });
		handle.on('error', () => {});
		await stateReached(handle, 'fatal');
		expect(handle.error).toBeDefined();
		await handle.restart();
		expect(handle.error).toBeUndefined();
		expect(handle.restarts).toBe(1);
		// It still fails: fatal again after one more failed start, since restart() counts failures from zero.
		await stateReached(handle, 'fatal');
		expect(handle.restarts).toBe(1);
	});

	it('lets the last call decide while a stop is under way: stop() then restart() restarts', async () => {
		const { proc } = setup();
		const { handle, out } = start('supervise-graceful.mjs', ['50'], { name: 'r', proc });
		const [, first] = (await out.waitFor(/^\[r\] ready (\d+)$/))!;
		const stopped = handle.stop();
		const restarted = handle.restart();
		await stopped;
		await restarted;
		expect(handle.restarts).toBe(1);
		expect(handle.pid).toBeDefined();
		expect(handle.pid).not.toBe(Number(first));
		// ... and restart() then stop() stops for good; the restart's promise says why.
		const again = handle.restart();
		await handle.stop();
		await expect(again).rejects.toThrow('`r` was stopped before it could be restarted');
		expect(handle.state).toBe('exited');
	});

	it('rejects once shutdown has started', async () => {
		const { proc } = setup();
		const { handle, out } = start('supervise-graceful.mjs', ['10'], { name: 'late', proc });
		await out.waitFor(/^\[late\] ready/);
		const shutdown = proc.shutdown('test');
		await expect(handle.restart()).rejects.toThrow(/Cannot restart `late`: shutdown has started/);
		await shutdown;
		expect(handle.state).toBe('exited');
	});
});

describe('on shutdown', () => {
	it('stops the child in the shutdown phase and waits for it', async () => {
		const { fake, proc } = setup();
		const { handle, out } = start('supervise-graceful.mjs', ['100'], { name: 'svc', proc });
		await out.waitFor(/^\[svc\] ready/);
		fake.kill('SIGTERM');
		const report = await proc.shutdown();
		expect(report.outcome).toBe('clean');
		expect(report.listeners).toEqual([expect.objectContaining({ name: 'supervise:svc', phase: 'shutdown', outcome: 'ok' })]);
		expect(out.lines).toContain('[svc] cleaned');
		expect(handle.state).toBe('exited');
		expect(handle.exitCode).toBe(0);
	});

	it('does not restart a child that dies once shutdown has started', async () => {
		const { proc } = setup();
		const { handle, out } = start('supervise-stubborn.mjs', [], { name: 'dies', proc, backoff: { initial: 0 } });
		const [, pid] = (await out.waitFor(/^\[dies\] ready (\d+)$/))!;
		// A running child: on a loaded machine its `startSecs` may not have passed yet when it says it is ready.
		await stateReached(handle, 'running');
		// In the wrap-up phase, before supervise's own listener runs, the child dies of something else.
		proc.addWrapUpListener(async () => {
			const exited = once(handle, 'exit');
			process.kill(Number(pid), 'SIGKILL');
			await exited;
		});
		const states = recordStates(handle);
		const report = await proc.shutdown();
		expect(report.outcome).toBe('clean');
		expect(handle.signalCode).toBe('SIGKILL');
		expect(handle.restarts).toBe(0);
		expect(states.map((s) => s.state)).toEqual(['exited']);
	});

	it('ends a child waiting in backoff as soon as shutdown starts', async () => {
		const { proc } = setup();
		const { handle } = start('supervise-exit.mjs', ['1'], { proc, startSecs: 30, backoff: { initial: 60_000 } });
		await stateReached(handle, 'backoff');
		const shutdown = proc.shutdown();
		expect(handle.state).toBe('exited');
		const report = await shutdown;
		expect(report.outcome).toBe('clean');
		expect(handle.restarts).toBe(0);
	});

	it('sends SIGKILL before the force-quit deadline, even when stopTimeout is longer', async () => {
		const { proc } = setup({ timeToForceQuit: 1000 });
		const { handle, out } = start('supervise-stubborn.mjs', [], { name: 'slow', proc, stopTimeout: 60_000 });
		await out.waitFor(/^\[slow\] ready/);
		const report = await proc.shutdown();
		// Killed in time: the listener finished and the sequence was not forced.
		expect(report.outcome).toBe('clean');
		expect(report.listeners).toEqual([expect.objectContaining({ name: 'supervise:slow', outcome: 'ok' })]);
		expect(handle.signalCode).toBe('SIGKILL');
		expect(out.lines).toContain('[slow] ignored SIGTERM');
	});
});
