/**
 * Spawning a child as the options say (no shell, stdin empty, its own process group with `killGroup`), and
 * what every spawned child gets: its output forwarded with a prefix, signals sent to it or to its group, and
 * its exit reported once its last output has come through.
 */
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { createDebug } from '../debug.js';
import { forwardOutput } from './forward-output.js';
import type { ResolvedOptions } from './options.js';
import type { ParentWatchdog } from './parent-watchdog.js';
import { createLinePrefixer } from './prefix-lines.js';
import { describeExit } from './supervise-error.js';

const log = createDebug('supervise');

/**
 * A child's last lines can still be in its pipes when its exit is reported. They are waited for this long at
 * most (a grandchild holding the pipes open must not hold up the supervisor).
 */
export const OUTPUT_GRACE_MS = 250;

const isWindows = process.platform === 'win32';

/** Whether signals go to the child's whole process group (Windows has none). */
export function signalsGroup(o: ResolvedOptions): boolean {
	return o.killGroup && !isWindows;
}

/** Spawns a child as the options say; throws what spawn() throws synchronously. */
export function launch(command: string, args: readonly string[], o: ResolvedOptions): ChildProcess {
	const stdio: StdioOptions = o.stdio === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', o.stdio, o.stdio];
	// A child that says it is ready with a message needs a channel to send it on.
	if (o.ready?.kind === 'message') stdio.push('ipc');
	// No shell: the arguments reach the program exactly as given.
	return spawn(command, args, { cwd: o.cwd, env: o.env, stdio, detached: signalsGroup(o), windowsHide: true });
}

/**
 * What every spawned child gets: its exit watched, the parent watchdog told, its output forwarded. `onExit`
 * runs as soon as the process is gone, and returns what to run once its last output has come through.
 */
export function wireChild(
	child: ChildProcess,
	pid: number,
	o: ResolvedOptions,
	watchdog: () => ParentWatchdog | undefined,
	onExit: (code: number | null, signal: NodeJS.Signals | null) => () => void,
): void {
	// After a successful spawn, errors come from kill() (which reports them by return value here) or stdio.
	child.on('error', (error) => log('%s: child error: %o', o.name, error));
	child.once('exit', (code, signal) => {
		watchdog()?.unwatch(pid);
		log('%s: %d exited (%s)', o.name, pid, describeExit(code, signal));
		afterExit(child, pid, o, onExit(code, signal));
	});
	watchdog()?.watch(pid, signalsGroup(o), o.stopSignal, o.stopTimeout);
	forwardChildOutput(child, o);
}

/** With `stdio: 'pipe'`, each line of the child's output goes to `stdout` / `stderr` with a `[name] ` prefix. */
function forwardChildOutput(child: ChildProcess, o: ResolvedOptions): void {
	if (o.stdio !== 'pipe') return;
	const prefix = `[${o.name}] `;
	child.stdout?.on('error', () => {});
	child.stderr?.on('error', () => {});
	if (child.stdout) forwardOutput(child.stdout.pipe(createLinePrefixer(prefix)), o.stdout ?? process.stdout);
	if (child.stderr) forwardOutput(child.stderr.pipe(createLinePrefixer(prefix)), o.stderr ?? process.stderr);
}

/** Sends `signal` to the child, or to its whole process group with `killGroup`. */
export function signalChild(child: ChildProcess, signal: NodeJS.Signals, o: ResolvedOptions): void {
	const pid = child.pid;
	if (pid === undefined) return;
	if (signalsGroup(o)) {
		try {
			process.kill(-pid, signal);
		} catch (error) {
			log('%s: signalling group %d failed: %o', o.name, pid, error);
		}
	} else {
		child.kill(signal);
	}
}

/**
 * The child has exited: with `killGroup`, what is left of its group gets SIGKILL (it had its stop signal
 * already, or is a stray of a crash that nobody else would ever stop); `then` runs once the child's pipes are
 * drained, so its last lines are written before anyone hears of the exit, or after OUTPUT_GRACE_MS at most.
 */
function afterExit(child: ChildProcess, pid: number, o: ResolvedOptions, then: () => void): void {
	if (signalsGroup(o)) {
		try {
			process.kill(-pid, 'SIGKILL');
			log('%s: killed what was left of process group %d', o.name, pid);
		} catch {}
	}
	if (child.stdout === null && child.stderr === null) {
		then();
		return;
	}
	let settled = false;
	const settle = (): void => {
		if (settled) return;
		settled = true;
		clearTimeout(timer);
		then();
	};
	const timer = setTimeout(settle, OUTPUT_GRACE_MS);
	child.once('close', settle);
}
