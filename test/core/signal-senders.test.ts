import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { commandName, parentChain, type ProcessInfo, readProcess } from '../../src/process-tree.js';
import { copiesAfter, identifySender, readSignalSenders, sendersNow, sendersOf } from '../../src/signal-senders.js';
import { fixture, startNode } from '../helpers/child.js';

const linux = process.platform === 'linux';
const nodemonBin = createRequire(import.meta.url).resolve('nodemon/bin/nodemon.js');

let pid = 1000;
const proc = (...argv: string[]): ProcessInfo => ({ pid: ++pid, ppid: pid + 1, pgrp: 1, argv, startTime: pid * 10, exiting: false });

describe('who sends this process its signals, from its parent', () => {
	it.each([
		['nodemon (its bin script)', [proc('node', '/app/node_modules/.bin/nodemon', 'app.js')], 'nodemon'],
		['nodemon (its package path)', [proc('/usr/bin/node', '/app/node_modules/nodemon/bin/nodemon.js', '--watch', 'src', 'app.js')], 'nodemon'],
		['nodemon through `sh -c`', [proc('sh', '-c', 'node -r dotenv/config app.js'), proc('node', '/x/nodemon', 'app.js')], 'nodemon'],
		['npm run dev (npm shows its title)', [proc('npm run dev')], 'npm'],
		['npm start', [proc('npm start')], 'npm'],
		['npx (npm exec)', [proc('npm exec my-server')], 'npm'],
		['an npm that keeps its path', [proc('node', '/usr/lib/node_modules/npm/bin/npm-cli.js', 'start')], 'npm'],
		['node --watch', [proc('node', '--watch', 'app.js')], 'node --watch'],
		['node --watch-path=src', [proc('/usr/local/bin/node', '--watch-path=src', '--enable-source-maps', 'app.js')], 'node --watch'],
		['PM2', [proc('PM2 v7.0.4: God Daemon (/root/.pm2)')], 'pm2'],
		['a shell between npm and the app (npm forwards to the shell)', [proc('sh', '-c', 'node app.js'), proc('npm run dev')], 'unknown'],
		['node running a script that takes --watch itself', [proc('node', 'build.js', '--watch')], 'unknown'],
		['a terminal shell', [proc('-bash')], 'unknown'],
		['no parent to be seen', [], 'unknown'],
	] as const)('%s', (_what, chain, sender) => {
		const senders = sendersOf(chain);
		expect(senders.sender).toBe(sender);
		expect(identifySender(chain).sender).toBe(sender);
		expect(senders.alive).toBe(true);
	});

	it('expects from nodemon one more copy of its restart signal, two more SIGINTs after a Ctrl+C, whatever the gap', () => {
		const senders = sendersOf([proc('node', '/x/nodemon', 'app.js')]);
		expect(copiesAfter(senders, 'SIGUSR2')).toEqual({ count: 1, names: 'same', withinMs: Number.POSITIVE_INFINITY });
		expect(copiesAfter(senders, 'SIGINT')).toMatchObject({ count: 2, names: ['SIGINT'] });
		expect(copiesAfter(senders, 'SIGTERM')).toMatchObject({ count: 3, names: ['SIGINT', 'SIGTERM'] });
	});

	it('expects from npm and node --watch one forwarded copy: of SIGINT within 100 ms, of SIGTERM within a second', () => {
		for (const chain of [[proc('npm run dev')], [proc('node', '--watch', 'app.js')]]) {
			const senders = sendersOf(chain);
			expect(copiesAfter(senders, 'SIGINT')).toEqual({ count: 1, names: 'same', withinMs: 100 });
			expect(copiesAfter(senders, 'SIGTERM')).toEqual({ count: 1, names: 'same', withinMs: 1000 });
		}
	});

	it('expects nothing more from PM2, and from a parent it does not know one copy in the same 100 ms', () => {
		expect(copiesAfter(sendersOf([proc('PM2 v6.0.0: God Daemon (/home/app/.pm2)')]), 'SIGINT').count).toBe(0);
		expect(copiesAfter(sendersOf([proc('bash')]), 'SIGTERM')).toEqual({ count: 1, names: 'same', withinMs: 100 });
	});
});

const cleanups: Array<() => void> = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Starts `command` (detached, so that its whole group can be ended) with the fixture below it; resolves with the fixture's pid. */
async function appUnder(command: string, args: string[], cwd?: string): Promise<number> {
	const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd, env: { ...process.env, FORCE_COLOR: '0' } });
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
		if (match) return Number(match[1]);
	}
	throw new Error(`no pid line; stdout: ${out}`);
}

describe.skipIf(!linux)('the senders of a real app', () => {
	it('under nodemon, node --watch and npx, each is recognised from the running process tree', async () => {
		const script = fixture('print-pid.mjs');
		const underNodemon = await appUnder(process.execPath, [nodemonBin, '--watch', script, script]);
		expect(sendersOf(parentChain(underNodemon)).sender).toBe('nodemon');
		const underWatch = await appUnder(process.execPath, ['--watch', script]);
		expect(sendersOf(parentChain(underWatch)).sender).toBe('node --watch');
		const underNpx = await appUnder('npm', ['exec', '--yes', '--', 'node', script]);
		const chain = parentChain(underNpx);
		// npm runs the command with `sh -c`. Debian's sh stays between them: the shell, not the app, gets npm's
		// copy, and the app only the terminal's. A shell that replaces itself with the command puts npm above the app.
		const shellStays = commandName(chain[0]!.argv) === 'sh';
		expect(chain[shellStays ? 1 : 0]!.argv[0]).toMatch(/^npm exec/);
		expect(sendersOf(chain).sender).toBe(shellStays ? 'unknown' : 'npm');
	});

	it('in a test worker, a parent it does not know', () => {
		expect(readSignalSenders()).toMatchObject({ sender: 'unknown', alive: true });
	});

	it('a sender that has gone, or is exiting, is not there any more', async () => {
		const child = startNode(fixture('print-pid.mjs'));
		const childPid = Number((await child.waitFor(/^pid (\d+)$/))[1]);
		// The child as a nodemon above us: there while it runs, not once it has ended.
		const asSender = sendersOf([{ ...readProcess(childPid)!, argv: ['node', '/x/nodemon', 'app.js'] }]);
		expect(asSender.process?.pid).toBe(childPid);
		expect(sendersNow(asSender).alive).toBe(true);
		child.process.kill('SIGKILL');
		await once(child.process, 'exit');
		expect(sendersNow(asSender).alive).toBe(false);
	});
});
