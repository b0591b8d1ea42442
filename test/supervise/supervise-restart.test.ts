import { describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { SuperviseError, type SupervisedProcess, type SuperviseOptions, supervise } from '../../src/supervise/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { fixture } from '../helpers/child.js';
import { Lines, recordStates, stateReached, stopAfterEach } from '../helpers/supervise.js';

const handles = stopAfterEach();

function setup() {
	const fake = createFakeProcess();
	const proc = createProc({ process: fake, exit: false, logger: false });
	return { fake, proc };
}

function start(script: string, args: string[], options: SuperviseOptions): SupervisedProcess {
	const handle = supervise(process.execPath, [fixture(script), ...args], { stdio: 'pipe', stdout: new Lines(), ...options });
	handles.push(handle);
	return handle;
}

function exits(handle: SupervisedProcess): Array<[number | null, NodeJS.Signals | null]> {
	const seen: Array<[number | null, NodeJS.Signals | null]> = [];
	handle.on('exit', (code, signal) => seen.push([code, signal]));
	return seen;
}

function nextError(handle: SupervisedProcess): Promise<SuperviseError> {
	return new Promise((resolve) => handle.once('error', resolve));
}

describe('a child that keeps failing is restarted with growing backoff, then given up', () => {
	it('restarts a crashing child, waits longer each time, goes fatal after maxRestarts and says why', async () => {
		const { fake, proc } = setup();
		const handle = start('supervise-exit.mjs', ['3'], {
			name: 'crasher',
			proc,
			startSecs: 30,
			maxRestarts: 3,
			backoff: { initial: 40, factor: 2, max: 10_000, jitter: 0 },
		});
		const states = recordStates(handle);
		const exited = exits(handle);
		const error = await nextError(handle);

		expect(handle.state).toBe('fatal');
		expect(error).toBeInstanceOf(SuperviseError);
		expect(error.name).toBe('SuperviseError');
		expect(error.message).toMatch(/`crasher` failed 4 starts in a row \(the last ended with exit code 3 before 30s\), more than maxRestarts \(3\)/);
		expect(error.exitCode).toBe(3);
		expect(handle.error).toBe(error);
		expect(handle.restarts).toBe(3);
		expect(handle.exitCode).toBe(3);
		expect(handle.signalCode).toBeNull();
		expect(handle.pid).toBeUndefined();
		expect(exited).toEqual([
			[3, null],
			[3, null],
			[3, null],
			[3, null],
		]);
		expect(states.map((s) => s.state)).toEqual(['backoff', 'starting', 'backoff', 'starting', 'backoff', 'starting', 'fatal']);
		// Time from entering backoff to the next start: at least initial × factor^n (timers never fire early).
		const waits = [0, 2, 4].map((i) => states[i + 1]!.at - states[i]!.at);
		expect(waits[0]).toBeGreaterThanOrEqual(39);
		expect(waits[1]).toBeGreaterThanOrEqual(79);
		expect(waits[2]).toBeGreaterThanOrEqual(159);
		// Given up for good: its shutdown listener is gone, so the proc has nothing left installed.
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('counts a death by a signal nobody asked for as a failure', async () => {
		const { proc } = setup();
		const handle = start('supervise-exit.mjs', ['SIGKILL'], { proc, startSecs: 30, maxRestarts: 1, backoff: { initial: 10 } });
		const exited = exits(handle);
		const error = await nextError(handle);
		expect(exited).toEqual([
			[null, 'SIGKILL'],
			[null, 'SIGKILL'],
		]);
		expect(error.signalCode).toBe('SIGKILL');
		expect(error.message).toMatch(/signal SIGKILL/);
		expect(handle.signalCode).toBe('SIGKILL');
	});

	it('starts the backoff over after a good start (the child stayed up for startSecs)', async () => {
		const { proc } = setup();
		// Up for 150 ms, then a crash: each start is good, so even maxRestarts 0 never gives up.
		const handle = start('supervise-exit.mjs', ['1', '150'], { proc, startSecs: 0.05, maxRestarts: 0, backoff: { initial: 10 } });
		const states = recordStates(handle);
		while (handle.restarts < 3) await stateReached(handle, 'starting').then(() => stateReached(handle, 'backoff'));
		expect(handle.state).not.toBe('fatal');
		// Every start reached 'running' before its crash.
		const order = states.map((s) => s.state).filter((s) => s === 'running' || s === 'backoff');
		expect(order.slice(0, 6)).toEqual(['running', 'backoff', 'running', 'backoff', 'running', 'backoff']);
	});

	it('goes fatal at once, with the reason, when the command cannot be started', async () => {
		const { fake, proc } = setup();
		const handle = supervise('graceful-proc-no-such-command', ['x'], { proc, maxRestarts: 5 });
		handles.push(handle);
		expect(handle.name).toBe('graceful-proc-no-such-command');
		const error = await nextError(handle);
		expect(handle.state).toBe('fatal');
		expect(handle.restarts).toBe(0);
		expect(error.message).toMatch(/^Could not start `graceful-proc-no-such-command` \(spawn graceful-proc-no-such-command ENOENT\)$/);
		expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('does not crash the parent when nobody listens for errors: the state says it, and a warning shows it', async () => {
		const { proc } = setup();
		const warning = new Promise<Error & { code?: string }>((resolve) => process.once('warning', resolve));
		const handle = start('supervise-exit.mjs', ['1'], { name: 'lonely', proc, startSecs: 30, maxRestarts: 0 });
		await stateReached(handle, 'fatal');
		expect(handle.listenerCount('error')).toBe(0);
		expect(handle.error).toBeInstanceOf(SuperviseError);
		const seen = await warning;
		expect(seen.name).toBe('SuperviseError');
		expect(seen.code).toBe('GRACEFUL_PROC_SUPERVISE_FATAL');
		expect(seen.message).toMatch(/`lonely` failed 1 start in a row/);
	});
});

describe('restart policies', () => {
	it("'on-failure' (the default) does not restart a child that exited with 0", async () => {
		const { fake, proc } = setup();
		const handle = start('supervise-exit.mjs', ['0'], { proc });
		const exited = exits(handle);
		await stateReached(handle, 'exited');
		expect(exited).toEqual([[0, null]]);
		expect(handle.restarts).toBe(0);
		expect(handle.exitCode).toBe(0);
		expect(handle.error).toBeUndefined();
		expect(fake.listenedEvents()).toEqual([]);
	});

	it("'on-failure' counts `expectedExitCodes` as success", async () => {
		const { proc } = setup();
		const handle = start('supervise-exit.mjs', ['3'], { proc, expectedExitCodes: [0, 3] });
		await stateReached(handle, 'exited');
		expect(handle.restarts).toBe(0);
		expect(handle.exitCode).toBe(3);
	});

	it("'always' restarts a child that exited with 0", async () => {
		const { proc } = setup();
		const handle = start('supervise-exit.mjs', ['0'], { proc, restart: 'always', startSecs: 0, backoff: { initial: 10 } });
		const exited = exits(handle);
		while (handle.restarts < 2) await stateReached(handle, 'backoff').then(() => stateReached(handle, 'running'));
		await handle.stop();
		expect(handle.state).toBe('exited');
		expect(exited.length).toBeGreaterThanOrEqual(2);
		expect(exited.slice(0, 2)).toEqual([
			[0, null],
			[0, null],
		]);
	});

	it("'never' leaves a failed child exited, without an error", async () => {
		const { proc } = setup();
		const handle = start('supervise-exit.mjs', ['7'], { proc, restart: 'never' });
		handle.on('error', () => expect.unreachable('no error under never'));
		await stateReached(handle, 'exited');
		expect(handle.exitCode).toBe(7);
		expect(handle.restarts).toBe(0);
		expect(handle.error).toBeUndefined();
	});

	it("emits 'state' with the previous state, and 'exit' with the code and signal", async () => {
		const { proc } = setup();
		const handle = start('supervise-exit.mjs', ['0', '200'], { proc, startSecs: 0.05 });
		const states = recordStates(handle);
		const exited = exits(handle);
		await stateReached(handle, 'exited');
		expect(states.map(({ state, previous }) => [previous, state])).toEqual([
			['starting', 'running'],
			['running', 'exited'],
		]);
		expect(exited).toEqual([[0, null]]);
	});
});
