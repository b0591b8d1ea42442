import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const nodemonBin = createRequire(import.meta.url).resolve('nodemon/bin/nodemon.js');

/** An app run by a development watcher, with its stdout read line by line (the watcher's lines and the app's mixed). */
export interface WatchedApp {
	readonly process: ChildProcess;
	readonly lines: string[];
	readonly stderr: () => string;
	/** The first line matching `pattern` at or after line index `from`. */
	waitFor(pattern: RegExp, from?: number, timeoutMs?: number): Promise<RegExpMatchArray>;
	/** A save: the app's file gets a new modification time. */
	save(): void;
	stop(): void;
}

/**
 * Copies `fixture` into a scratch folder inside the package (so that it imports `graceful-proc` and the dev
 * dependencies as the fixtures do) and runs it under `watcher`, detached so that the whole group can be ended.
 */
export function runWatched(fixture: string, watcher: 'nodemon' | 'node --watch', options: { env?: NodeJS.ProcessEnv; watcherArgs?: string[] } = {}): WatchedApp {
	mkdirSync(join(root, '.tmp'), { recursive: true });
	const dir = mkdtempSync(join(root, '.tmp', 'watched-'));
	const app = join(dir, 'server.mjs');
	copyFileSync(fixture, app);
	const args = watcher === 'nodemon' ? [nodemonBin, ...(options.watcherArgs ?? []), '--watch', app, app] : ['--watch', ...(options.watcherArgs ?? []), app];
	const child = spawn(process.execPath, args, { cwd: dir, detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', ...options.env } });
	const lines: string[] = [];
	let partial = '';
	let stderr = '';
	child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
	child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
		const parts = (partial + chunk).split('\n');
		partial = parts.pop()!;
		lines.push(...parts);
		child.stdout!.emit('lines');
	});
	return {
		process: child,
		lines,
		stderr: () => stderr,
		waitFor(pattern, from = 0, timeoutMs = 15_000) {
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => {
					child.stdout!.off('lines', look);
					reject(new Error(`no line matching ${pattern} after line ${from} within ${timeoutMs} ms; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
				}, timeoutMs);
				const look = () => {
					for (const line of lines.slice(from)) {
						const match = line.match(pattern);
						if (match) {
							clearTimeout(timer);
							child.stdout!.off('lines', look);
							return resolve(match);
						}
					}
				};
				child.stdout!.on('lines', look);
				look();
			});
		},
		save() {
			const now = new Date();
			utimesSync(app, now, now);
		},
		stop() {
			try {
				process.kill(-child.pid!, 'SIGKILL');
			} catch {}
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

export function get(port: number, path: string): Promise<{ status: number | undefined; body: string }> {
	return new Promise((resolve, reject) => {
		request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode, body }));
		})
			.on('error', reject)
			.end();
	});
}
