import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { detectDevWatcher } from '../../src/dev-watcher.js';
import { parentChain, type ProcessInfo } from '../../src/process-tree.js';
import { fixture } from '../helpers/child.js';

const linux = process.platform === 'linux';
const nodemonBin = createRequire(import.meta.url).resolve('nodemon/bin/nodemon.js');
const proc = (...argv: string[]): ProcessInfo => ({ pid: 10, ppid: 9, pgrp: 1, argv, startTime: 1, exiting: false });

describe('a development watcher, from the clues a process has', () => {
	it.each([
		['nodemon as the parent', {}, [proc('node', '/app/node_modules/.bin/nodemon', 'app.js')], true, 'nodemon'],
		['nodemon through `sh -c`', {}, [proc('sh', '-c', 'ts-node app.ts'), proc('node', '/x/nodemon/bin/nodemon.js')], true, 'nodemon'],
		['an npm script that runs nodemon', { npm_lifecycle_script: 'nodemon --watch src app.js' }, [], true, 'nodemon'],
		['node --watch as the parent, with its mark', { WATCH_REPORT_DEPENDENCIES: '1' }, [proc('node', '--watch', 'app.js')], true, 'node --watch'],
		['the mark where no parent can be read (not Linux)', { WATCH_REPORT_DEPENDENCIES: '1' }, [], false, 'node --watch'],
		['the mark inherited by a child of the watched app', { WATCH_REPORT_DEPENDENCIES: '1' }, [proc('node', 'app.js'), proc('node', '--watch', 'app.js')], true, undefined],
		['node --watch without its mark', {}, [proc('node', '--watch', 'app.js')], true, undefined],
		['npm start', { npm_lifecycle_script: 'node server.js' }, [proc('npm start')], true, undefined],
		['a shell', {}, [proc('-bash')], true, undefined],
	] as const)('%s', (_what, env, chain, chainKnown, watcher) => {
		expect(detectDevWatcher({ env, chain, chainKnown })).toBe(watcher);
	});
});

const cleanups: Array<() => void> = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0)) cleanup();
});

/** The fixture's pid and environment, started under `args` (detached: its whole group is ended after the test). */
async function watched(args: string[]): Promise<{ pid: number; env: Record<string, string> }> {
	const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
	cleanups.push(() => {
		try {
			process.kill(-child.pid!, 'SIGKILL');
		} catch {}
	});
	let out = '';
	child.stdout!.setEncoding('utf8');
	for await (const chunk of child.stdout!) {
		out += chunk;
		const match = /^pid (\d+)$/m.exec(out);
		if (!match) continue;
		const pid = Number(match[1]);
		const env = Object.fromEntries(
			readFileSync(`/proc/${pid}/environ`, 'utf8')
				.split('\0')
				.filter(Boolean)
				.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
		);
		return { pid, env };
	}
	throw new Error(`no pid line; stdout: ${out}`);
}

describe.skipIf(!linux)('a development watcher, in a real process tree', () => {
	it('recognises nodemon and node --watch above a running app, and nothing above a plain one', async () => {
		const script = fixture('print-pid.mjs');
		for (const [args, watcher] of [
			[[nodemonBin, '--watch', script, script], 'nodemon'],
			[['--watch', script], 'node --watch'],
			[[script], undefined],
		] as const) {
			const { pid, env } = await watched([...args]);
			expect(detectDevWatcher({ env, chain: parentChain(pid), chainKnown: true })).toBe(watcher);
		}
	});
});
