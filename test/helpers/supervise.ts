import { afterEach } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { SupervisedProcess, SuperviseState } from '../../src/supervise/index.js';

const hasProc = existsSync('/proc/self/stat');

function statOf(pid: number): { state: string; ppid: number } | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// The command name may contain spaces and parentheses; the fields after the last ')' do not.
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		return { state: fields[0]!, ppid: Number(fields[1]) };
	} catch {
		return undefined;
	}
}

/**
 * Whether `pid` is still a running process. `process.kill(pid, 0)` throwing ESRCH is the test; a zombie
 * (exited, waiting for its parent to collect it) counts as gone: once its parent has died, it waits for init,
 * which may take seconds to reap it and is not ours to hurry.
 */
export function isRunning(pid: number): boolean {
	try {
		process.kill(pid, 0);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
		throw error;
	}
	if (!hasProc) return true;
	const stat = statOf(pid);
	return stat !== undefined && stat.state !== 'Z';
}

/** Polls until none of `pids` runs, for at most `timeoutMs`; resolves to the ones still running (empty when all are gone). */
export async function waitUntilGone(pids: readonly number[], timeoutMs = 10_000): Promise<number[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const running = pids.filter(isRunning);
		if (running.length === 0 || Date.now() >= deadline) return running;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** Every process below `root` (Linux: read from /proc), for "nothing left behind" checks that include what we did not spawn ourselves. */
export function descendants(root: number): number[] {
	if (!hasProc) return [];
	const children = new Map<number, number[]>();
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		const stat = statOf(Number(entry));
		if (stat === undefined) continue;
		const list = children.get(stat.ppid) ?? [];
		list.push(Number(entry));
		children.set(stat.ppid, list);
	}
	const found: number[] = [];
	const queue = [root];
	while (queue.length > 0) {
		for (const child of children.get(queue.shift()!) ?? []) {
			found.push(child);
			queue.push(child);
		}
	}
	return found;
}

/** The command line of a process, or '' when it is gone. */
export function commandLine(pid: number): string {
	try {
		return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
	} catch {
		return '';
	}
}

/** A destination for `stdio: 'pipe'` that keeps the lines, so a test can wait for a child's handshake. */
export class Lines extends Writable {
	readonly lines: string[] = [];
	#partial = '';
	#waiters: Array<{ pattern: RegExp; from: number; resolve: (match: RegExpMatchArray) => void }> = [];

	override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
		this.#partial += chunk.toString('utf8');
		const parts = this.#partial.split('\n');
		this.#partial = parts.pop()!;
		for (const line of parts) {
			this.lines.push(line);
			for (const waiter of [...this.#waiters]) {
				const match = this.lines.length - 1 >= waiter.from ? line.match(waiter.pattern) : null;
				if (match) {
					this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
					waiter.resolve(match);
				}
			}
		}
		callback();
	}

	/** The first line matching `pattern` at index `from` or later (already there or still to come). */
	waitFor(pattern: RegExp, { from = 0, timeoutMs = 10_000 } = {}): Promise<RegExpMatchArray> {
		for (let i = from; i < this.lines.length; i += 1) {
			const match = this.lines[i]!.match(pattern);
			if (match) return Promise.resolve(match);
		}
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
				reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; lines: ${JSON.stringify(this.lines)}`));
			}, timeoutMs);
			const done = (match: RegExpMatchArray): void => {
				clearTimeout(timer);
				resolve(match);
			};
			this.#waiters.push({ pattern, from, resolve: done });
		});
	}
}

/** Resolves once `handle.state` is `state` (at once if it already is), or rejects after `timeoutMs`. */
export function stateReached(handle: SupervisedProcess, state: SuperviseState, timeoutMs = 10_000): Promise<void> {
	if (handle.state === state) return Promise.resolve();
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			handle.off('state', onState);
			reject(new Error(`${handle.name} did not reach '${state}' within ${timeoutMs} ms (it is '${handle.state}')`));
		}, timeoutMs);
		const onState = (current: SuperviseState): void => {
			if (current !== state) return;
			clearTimeout(timer);
			handle.off('state', onState);
			resolve();
		};
		handle.on('state', onState);
	});
}

/** Records every 'state' change with the time it happened (performance.now()). */
export function recordStates(handle: SupervisedProcess): Array<{ state: SuperviseState; previous: SuperviseState; at: number }> {
	const seen: Array<{ state: SuperviseState; previous: SuperviseState; at: number }> = [];
	handle.on('state', (state, previous) => seen.push({ state, previous, at: performance.now() }));
	return seen;
}

/** Counts the child processes this process has spawned and not yet reaped (libuv ProcessWrap handles). */
export function spawnedProcessHandles(): number {
	return process.getActiveResourcesInfo().filter((name) => name === 'ProcessWrap').length;
}

/**
 * The supervised processes a test started: stopped after each test, whatever happened. Register it after any
 * afterEach that must run once they are stopped (vitest runs afterEach hooks last registered first).
 */
export function stopAfterEach(): SupervisedProcess[] {
	const handles: SupervisedProcess[] = [];
	afterEach(async () => {
		await Promise.all(handles.splice(0).map((handle) => handle.stop()));
	});
	return handles;
}

/** Pids a test started and must not leave behind: SIGKILLed after each test, whatever happened. */
export function killLeftoversAfterEach(): number[] {
	const leftovers: number[] = [];
	afterEach(() => {
		for (const pid of leftovers.splice(0)) {
			try {
				process.kill(pid, 'SIGKILL');
			} catch {}
		}
	});
	return leftovers;
}
