// docs/core.md's BullMQ worker with track(), run as printed against a real redis-server that this file starts on a
// free port (and ends): a job in hand at SIGTERM finishes and no job starts after it; a job longer than the
// deadline is aborted through its signal and named in the report.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode } from '../helpers/child.js';
import { writeDocBlock } from '../helpers/doc-block.js';
import { toolInstalled } from '../helpers/roll.js';

const installed = toolInstalled('redis-server', 'REDIS_SERVER');

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer().listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
		server.on('error', reject);
	});
}

/** redis-server on 127.0.0.1:port, nothing written to disk; resolves once it accepts connections. */
async function startRedis(port: number): Promise<ChildProcess> {
	const redis = spawn(process.env.REDIS_SERVER ?? 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`redis-server did not get ready within 15 s: ${output}`)), 15_000);
		redis.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
			output += chunk;
			if (output.includes('Ready to accept connections')) {
				clearTimeout(timer);
				resolve();
			}
		});
		redis.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`redis-server exited (${code}): ${output}`));
		});
	});
	return redis;
}

// Without redis-server the suite is skipped on a developer machine and fails in CI, where it must run.
describe.runIf(installed || Boolean(process.env.CI))("docs/core.md's BullMQ worker with track(), against redis-server", () => {
	let redis: ChildProcess | undefined;
	let port = 0;
	let script = '';
	const queues: Queue[] = [];

	beforeAll(async () => {
		port = await freePort();
		redis = await startRedis(port);
		script = writeDocBlock('docs/core.md', "addWrapUpListener(() => worker.close(), { name: 'bullmq' })", 'queue-worker', (code) =>
			code.replace('port: 6379', `port: ${port}`),
		);
	});

	afterAll(async () => {
		for (const queue of queues) await queue.close();
		if (redis && redis.exitCode === null) {
			redis.kill('SIGTERM');
			await once(redis, 'exit');
		}
		if (script) rmSync(dirname(script), { recursive: true, force: true });
	});

	it('a 3 s job in hand at SIGTERM completes, no job starts after it, exit 0', async () => {
		const queue = new Queue('reports', { connection: { host: '127.0.0.1', port } });
		queues.push(queue);
		const worker = startNode(script);
		try {
			const inHand = await queue.add('render', { ms: 3000 });
			const waiting = await queue.add('render', { ms: 10 });
			await worker.waitFor(new RegExp(`^job ${inHand.id} started$`), 20_000);
			const signalledAt = Date.now();
			worker.process.kill('SIGTERM');
			const late = await queue.add('render', { ms: 10 });
			const [code, signal] = await worker.closed;
			expect(worker.stderr()).toBe('');
			expect([code, signal]).toEqual([0, null]);
			expect(worker.stdout).toEqual([`job ${inHand.id} started`, `job ${inHand.id} completed`]);
			expect(worker.closedAt() - signalledAt).toBeGreaterThan(2000);
			expect(await queue.getJobState(inHand.id!)).toBe('completed');
			expect(await queue.getJobState(waiting.id!)).toBe('waiting');
			expect(await queue.getJobState(late.id!)).toBe('waiting');
		} finally {
			worker.process.kill('SIGKILL');
			await worker.closed;
			// The next test starts from an empty queue, whatever this one left.
			await queue.obliterate({ force: true });
		}
	});

	it('a job longer than the deadline is aborted through its signal before it, BullMQ records it failed, and the summary names it', async () => {
		const queue = new Queue('reports', { connection: { host: '127.0.0.1', port } });
		queues.push(queue);
		const worker = startNode(script);
		try {
			const long = await queue.add('render', { ms: 60_000 });
			await worker.waitFor(new RegExp(`^job ${long.id} started$`), 20_000);
			const signalledAt = Date.now();
			worker.process.kill('SIGTERM');
			const failed = await worker.waitFor(new RegExp(`^job ${long.id} failed: (.+)$`), 20_000);
			const abortedAfter = Date.now() - signalledAt;
			const [code, signal] = await worker.closed;
			expect([code, signal]).toEqual([1, null]);
			// grace: 5000 makes the deadline 9.5 s; the signal aborts 1 s before it (the line comes a little later).
			expect(abortedAfter).toBeGreaterThanOrEqual(8400);
			expect(abortedAfter).toBeLessThan(9500);
			expect(failed[1]).toBe('The operation was aborted');
			const stderr = worker.stderr();
			expect(stderr).toMatch(/^graceful-proc: shutdown failed in \d+ ms \(reason: SIGTERM\), exit code 1/m);
			expect(stderr).toContain(`tracked work (wrap-up, `);
			expect(stderr).toContain(`TrackedWorkCutError: Tracked work cut by the deadline, 1 unit: \`job ${long.id}\` (aborted, then ended)`);
			const job = await queue.getJob(long.id!);
			expect(await job!.getState()).toBe('failed');
			expect(job!.failedReason).toBe('The operation was aborted');
		} finally {
			worker.process.kill('SIGKILL');
			await worker.closed;
			// The next test starts from an empty queue, whatever this one left.
			await queue.obliterate({ force: true });
		}
	});
});
