import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

export interface Child {
	readonly process: ChildProcess;
	readonly stdout: string[];
	readonly stderr: () => string;
	/** Resolves with the first stdout line matching `pattern`; rejects if the child closes first. */
	waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
	/** `[code, signal]` from 'close'. */
	readonly closed: Promise<[number | null, NodeJS.Signals | null]>;
	/** Date.now() when 'close' fired. */
	closedAt(): number;
}

/**
 * Starts a node script with its stdout read line by line, so tests can wait for a handshake instead of sleeping.
 * `node`: the binary (default: the one running the tests).
 */
export function startNode(script: string, args: string[] = [], options: { env?: NodeJS.ProcessEnv; execArgv?: string[]; node?: string } = {}): Child {
	const child = spawn(options.node ?? process.execPath, [...(options.execArgv ?? []), script, ...args], {
		stdio: ['ignore', 'pipe', 'pipe'],
		env: { ...process.env, ...options.env },
	});
	const stdout: string[] = [];
	let stderr = '';
	let partial = '';
	const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
	child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
		partial += chunk;
		const lines = partial.split('\n');
		partial = lines.pop()!;
		for (const line of lines) {
			stdout.push(line);
			for (const waiter of [...waiters]) {
				const match = line.match(waiter.pattern);
				if (match) {
					waiters.splice(waiters.indexOf(waiter), 1);
					waiter.resolve(match);
				}
			}
		}
	});
	child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
		stderr += chunk;
	});
	let closedAt = 0;
	const closed = once(child, 'close').then(([code, signal]) => {
		closedAt = Date.now();
		return [code, signal] as [number | null, NodeJS.Signals | null];
	});
	return {
		process: child,
		stdout,
		stderr: () => stderr,
		closed,
		closedAt: () => closedAt,
		waitFor(pattern, timeoutMs = 15_000) {
			for (const line of stdout) {
				const match = line.match(pattern);
				if (match) return Promise.resolve(match);
			}
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout: ${stdout.join('\n')}; stderr: ${stderr}`)), timeoutMs);
				waiters.push({
					pattern,
					resolve: (m) => {
						clearTimeout(timer);
						resolve(m);
					},
				});
				void closed.then(([code, signal]) => {
					clearTimeout(timer);
					reject(new Error(`child closed (${code}, ${signal}) before a line matching ${pattern}; stdout: ${stdout.join('\n')}; stderr: ${stderr}`));
				});
			});
		},
	};
}

/**
 * Resolves once the process's main thread waits for work (Linux: `S` in /proc), as a service that has run for a
 * while does: what it did to start (and to say so) is done. Elsewhere at once. On a machine short of CPU a child
 * that has printed its handshake may still be finishing that work for tens of milliseconds.
 */
export async function untilIdle(pid: number, timeoutMs = 5000): Promise<void> {
	if (process.platform !== 'linux') return;
	const until = Date.now() + timeoutMs;
	while (Date.now() < until) {
		let state: string;
		try {
			const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
			state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
		} catch {
			return;
		}
		if (state === 'S') return;
		await new Promise((resolve) => setTimeout(resolve, 2));
	}
	throw new Error(`process ${pid} was still running after ${timeoutMs} ms`);
}

/** The report the fixture printed as `report {json}`. */
export function reportOf(child: Child): any {
	const line = child.stdout.find((l) => l.startsWith('report '));
	return line ? JSON.parse(line.slice('report '.length)) : undefined;
}
