/**
 * The parent watchdog: one small node process per parent that stops the supervised children when the parent
 * dies without a shutdown (SIGKILL, OOM killer), told over a pipe that the OS closes however the parent dies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createDebug } from '../debug.js';

const log = createDebug('supervise');

/**
 * The watchdog's code, run with `node -e`. It reads lines from its stdin, a pipe whose other end only the
 * parent holds, and the OS closes that end however the parent dies, SIGKILL included. At end-of-file it
 * stops every child it was told about: the stop signal, then SIGKILL once the child's stop timeout (or the
 * kill time of a stop already under way) has passed. Lines:
 *   watch <pid> <g|p> <signal> <timeoutMs>   a child to stop (g: its whole process group)
 *   stopping <pid> <killAtEpochMs>           the parent already sent the stop signal; do not send it twice
 *   unwatch <pid>                            the child is gone
 * Signals aimed at the parent's group or at every node process must not take the watchdog down before it
 * has done its job, so it ignores the usual termination signals; end-of-file is its only way out.
 * As in the parent, once a group's leader (the child) has exited, what is left of the group gets SIGKILL.
 * An orphaned child that has exited is a zombie until init collects it, which can take a while: on Linux
 * /proc tells a zombie from a live process, so the watchdog does not wait for init.
 */
const source = `'use strict';
const { readFileSync } = require('node:fs');
for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGPIPE', 'SIGUSR1', 'SIGUSR2']) {
	try { process.on(name, () => {}); } catch {}
}
const targets = new Map();
let buffered = '';
let fired = false;
function send(target, signal) {
	try { process.kill(target, signal); return true; } catch (error) { return error.code === 'EPERM'; }
}
function alive(pid) {
	if (!send(pid, 0)) return false;
	try {
		const stat = readFileSync('/proc/' + pid + '/stat', 'utf8');
		return stat[stat.lastIndexOf(')') + 2] !== 'Z';
	} catch { return true; }
}
function onLine(line) {
	const [op, id, a, b, c] = line.split(' ');
	const pid = Number(id);
	if (op === 'watch') targets.set(pid, { group: a === 'g', signal: b, timeout: Number(c), killAt: undefined });
	else if (op === 'stopping') { const t = targets.get(pid); if (t) t.killAt = Number(a); }
	else if (op === 'unwatch') targets.delete(pid);
}
function check() {
	const now = Date.now();
	for (const [pid, t] of targets) {
		if (!alive(pid)) {
			if (t.group) send(-pid, 'SIGKILL');
			targets.delete(pid);
		} else if (now >= t.killAt) {
			send(t.group ? -pid : pid, 'SIGKILL');
			targets.delete(pid);
		}
	}
	if (targets.size === 0) process.exit(0);
	setTimeout(check, 50);
}
function fire() {
	if (fired) return;
	fired = true;
	const now = Date.now();
	for (const [pid, t] of targets) {
		if (t.killAt === undefined) { send(t.group ? -pid : pid, t.signal); t.killAt = now + t.timeout; }
	}
	check();
}
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
	buffered += chunk;
	let end;
	while ((end = buffered.indexOf('\\n')) !== -1) { onLine(buffered.slice(0, end)); buffered = buffered.slice(end + 1); }
});
process.stdin.on('end', fire);
process.stdin.on('error', fire);
`;

/** A watchdog that dies within this long after starting is not started again: something is wrong with it. */
const MIN_LIFETIME_MS = 1000;

function canRunNode(): boolean {
	// Under Deno, execPath is deno, whose command line has no `-e` (it would exit at once with a usage error).
	if (process.versions.deno !== undefined) return false;
	try {
		// In a single-executable application, execPath is the application itself, not node.
		const sea = createRequire(import.meta.url)('node:sea') as { isSea?: () => boolean };
		return !sea.isSea?.();
	} catch {
		return true;
	}
}

/**
 * The parent side of the watchdog: one small node process per parent, shared by every supervised child,
 * started with the first child and told to leave (end-of-file with nothing to watch) when the last
 * supervisor stops for good. It is detached (its own session), so that a signal to the parent's process
 * group (Ctrl+C, `kill -- -pgid`) does not take it down together with the parent, and unref'd, so that it
 * never keeps the parent alive.
 */
export class ParentWatchdog {
	readonly #minLifetimeMs: number;
	#child: ChildProcess | undefined;
	#startedAt = 0;
	#users = 0;
	#disabled = false;
	/** Everything the current watchdog was told, per child, to tell a replacement. */
	readonly #lines = new Map<number, string[]>();

	constructor({ minLifetimeMs = MIN_LIFETIME_MS } = {}) {
		this.#minLifetimeMs = minLifetimeMs;
	}

	/** The watchdog's pid while one runs (for tests and diagnostics). */
	get pid(): number | undefined {
		return this.#child?.pid;
	}

	acquire(): void {
		this.#users += 1;
	}

	release(): void {
		this.#users -= 1;
		if (this.#users > 0) return;
		this.#users = 0;
		const child = this.#child;
		this.#child = undefined;
		// End-of-file with nothing left to watch: it exits without touching anything.
		child?.stdin?.end();
	}

	watch(pid: number, group: boolean, signal: string, timeout: number): void {
		const line = `watch ${pid} ${group ? 'g' : 'p'} ${signal} ${Math.round(timeout)}`;
		this.#lines.set(pid, [line]);
		this.#write(line);
	}

	stopping(pid: number, killAt: number): void {
		const lines = this.#lines.get(pid);
		if (lines === undefined) return;
		const line = `stopping ${pid} ${Math.round(killAt)}`;
		lines.push(line);
		this.#write(line);
	}

	unwatch(pid: number): void {
		if (this.#lines.delete(pid)) this.#write(`unwatch ${pid}`);
	}

	/** Start the watchdog if none runs. Called before each spawn, so that it is up before the child is. */
	ensure(): void {
		if (this.#child !== undefined || this.#disabled || this.#users === 0) return;
		if (!canRunNode()) {
			this.#disabled = true;
			log('watchdog unavailable: process.execPath is not node');
			return;
		}
		const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
		// The parent's NODE_OPTIONS (--inspect, --require of an APM agent) would only make the watchdog fail or grow.
		delete env.NODE_OPTIONS;
		let child: ChildProcess;
		try {
			child = spawn(process.execPath, ['-e', source], {
				stdio: ['pipe', 'ignore', 'ignore'],
				detached: true,
				env,
				windowsHide: true,
			});
		} catch (error) {
			this.#disabled = true;
			log('watchdog could not start: %o', error);
			return;
		}
		this.#child = child;
		this.#startedAt = performance.now();
		child.unref();
		const stdin = child.stdin as (NonNullable<ChildProcess['stdin']> & { unref?: () => void }) | null;
		stdin?.unref?.();
		// A write to a watchdog that has died fails with EPIPE; its 'exit' handles that case.
		stdin?.on('error', (error) => log('watchdog pipe error: %o', error));
		child.on('error', (error) => {
			log('watchdog error: %o', error);
			this.#onExit(child);
		});
		child.on('exit', (code, signal) => {
			log('watchdog %d exited (code %s, signal %s)', child.pid, code, signal);
			this.#onExit(child);
		});
		log('watchdog %d started', child.pid);
		for (const lines of this.#lines.values()) for (const line of lines) this.#write(line);
	}

	#onExit(child: ChildProcess): void {
		if (this.#child !== child) return;
		this.#child = undefined;
		if (performance.now() - this.#startedAt < this.#minLifetimeMs) {
			this.#disabled = true;
			log('watchdog died right after starting; not starting another');
			return;
		}
		// Someone killed it while children still need it.
		this.ensure();
	}

	#write(line: string): void {
		const stdin = this.#child?.stdin;
		if (stdin && !stdin.destroyed && stdin.writable) stdin.write(`${line}\n`);
	}
}

/** One per module instance: the parent process is what it watches. Creating it starts nothing. */
export const parentWatchdog = new ParentWatchdog();
