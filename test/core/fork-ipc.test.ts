import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/child.js';

const children: ChildProcess[] = [];
afterEach(() => {
	for (const child of children.splice(0)) child.kill('SIGKILL');
});

function start(env: Record<string, string> = {}) {
	const child = fork(fixture('fork-worker.mjs'), [], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
	children.push(child);
	const messages: unknown[] = [];
	const waiters: Array<[(m: any) => boolean, (m: any) => void]> = [];
	child.on('message', (message: any) => {
		messages.push(message);
		for (const [index, [match, resolve]] of waiters.entries()) {
			if (match(message)) {
				waiters.splice(index, 1);
				resolve(message);
				break;
			}
		}
	});
	const next = (match: (m: any) => boolean) =>
		new Promise<any>((resolve, reject) => {
			const found = messages.find(match);
			if (found !== undefined) return resolve(found);
			waiters.push([match, resolve]);
			child.once('exit', (code) => reject(new Error(`the worker exited with ${code} before the message came`)));
		});
	return { child, next, closed: once(child, 'exit') as Promise<[number | null, string | null]> };
}

describe('a forked worker keeps its IPC channel to itself', () => {
	it('stays alive and gets its messages when it adds its own message listener after registering a listener', async () => {
		const { child, next, closed } = start();
		await next((m) => m.ready);
		// Before, the PM2 support unref'd the channel for good: the worker exited 0 at once and never answered.
		for (const n of [1, 2, 3]) {
			child.send(n);
			expect(await next((m) => m.echo === n)).toEqual({ echo: n });
		}
		expect(child.exitCode).toBe(null);
		child.kill('SIGTERM');
		expect(await closed).toEqual([0, null]);
	});

	it("is stopped by PM2's 'shutdown' message in cluster mode, with a clean report", async () => {
		const { child, next, closed } = start({ pm_id: '0', exec_mode: 'cluster_mode' });
		await next((m) => m.ready);
		child.send('shutdown');
		expect(await next((m) => m.report)).toEqual({ report: { outcome: 'clean', reason: 'shutdown', exitCode: 0 } });
		expect(await closed).toEqual([0, null]);
	});

	it("takes a 'shutdown' message as a plain message outside PM2", async () => {
		const { child, next } = start();
		await next((m) => m.ready);
		child.send('shutdown');
		child.send(7);
		expect(await next((m) => m.echo === 7)).toEqual({ echo: 7 });
		expect(child.exitCode).toBe(null);
	});
});
