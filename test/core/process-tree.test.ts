import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { commandName, parentChain, readProcess, stillRunning } from '../../src/process-tree.js';

const linux = process.platform === 'linux';

describe.skipIf(!linux)('the process tree, read from /proc', () => {
	it('shows this process: its parent, its process group, its command line', () => {
		const self = readProcess(process.pid)!;
		expect(self).toMatchObject({ pid: process.pid, ppid: process.ppid, exiting: false });
		expect(self.pgrp).toBeGreaterThan(0);
		expect(self.startTime).toBeGreaterThan(0);
		expect(commandName(self.argv)).toMatch(/^node/);
	});

	it('reads the chain of parents nearest first, from this process or from another', async () => {
		const chain = parentChain();
		expect(chain[0]?.pid).toBe(process.ppid);
		for (let i = 1; i < chain.length; i++) expect(chain[i]!.pid).toBe(chain[i - 1]!.ppid);
		const child = spawn('sleep', ['30'], { stdio: 'ignore' });
		await once(child, 'spawn');
		try {
			const theirs = parentChain(child.pid!, 2);
			expect(theirs.map((p) => p.pid)).toEqual([process.pid, process.ppid]);
			expect(parentChain(child.pid!, 1)).toHaveLength(1);
		} finally {
			child.kill('SIGKILL');
		}
	});

	it('says a process is still running until it has gone, and tells a reused pid apart by its start time', async () => {
		const child = spawn('sleep', ['30'], { stdio: 'ignore' });
		await once(child, 'spawn');
		const info = readProcess(child.pid!)!;
		expect(info.argv).toEqual(['sleep', '30']);
		expect(stillRunning(info)).toBe(true);
		expect(stillRunning({ pid: info.pid, startTime: info.startTime + 1 })).toBe(false);
		child.kill('SIGKILL');
		await once(child, 'exit');
		expect(stillRunning(info)).toBe(false);
	});

	it('sees a process that is exiting as exiting before it has gone: a zombie not yet reaped', async () => {
		// `sh -c 'sleep 0 & exec sleep 30'`: the shell becomes a `sleep 30` whose own child ended and was never reaped.
		const child = spawn('sh', ['-c', 'sleep 0 & exec sleep 30'], { stdio: 'ignore' });
		await once(child, 'spawn');
		try {
			let zombie;
			for (let tries = 0; tries < 200 && zombie === undefined; tries++) {
				await new Promise((resolve) => setTimeout(resolve, 10));
				zombie = parentChainOfChildren(child.pid!).find((p) => p.exiting);
			}
			expect(zombie).toBeDefined();
			expect(stillRunning(zombie!)).toBe(false);
		} finally {
			child.kill('SIGKILL');
		}
	});

	it('answers undefined for a pid that does not exist, and for nonsense', () => {
		expect(readProcess(2 ** 22 + 1)).toBeUndefined();
		expect(readProcess(-1)).toBeUndefined();
		expect(readProcess(Number.NaN)).toBeUndefined();
		expect(parentChain(2 ** 22 + 1)).toEqual([]);
	});
});

/** The processes whose parent is `pid`, as /proc shows them. */
function parentChainOfChildren(pid: number) {
	const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
	const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
	return children.map((child) => readProcess(child)).filter((p) => p !== undefined);
}

describe('commandName', () => {
	it('is the last part of the first word', () => {
		expect(commandName(['/usr/bin/node', 'app.js'])).toBe('node');
		expect(commandName(['npm run dev'])).toBe('npm run dev');
		expect(commandName([])).toBe('');
	});
});
