import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, reportOf, startNode } from '../helpers/child.js';

const script = fixture('core-child.mjs');
const root = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'graceful-proc-exit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Starts the core child with both streams read by a slow reader: after SIGTERM, the parent reads nothing for
 * `pauseMs`, so the pipes fill up and the child's writes queue in memory, as behind a busy log shipper.
 */
async function floodThroughSlowPipes(pauseMs: number, env: NodeJS.ProcessEnv = {}) {
	const child = spawn(process.execPath, [script, 'flood'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
	const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
	child.stdout.on('data', (chunk: Buffer) => chunks.stdout.push(chunk));
	child.stderr.on('data', (chunk: Buffer) => chunks.stderr.push(chunk));
	const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
	while (!Buffer.concat(chunks.stdout).toString().includes('ready running\n')) {
		await Promise.race([once(child.stdout, 'data'), closed.then(() => Promise.reject(new Error(`child closed: ${Buffer.concat(chunks.stderr)}`)))]);
	}
	child.stdout.pause();
	child.stderr.pause();
	child.kill('SIGTERM');
	await new Promise((resolve) => setTimeout(resolve, pauseMs));
	child.stdout.resume();
	child.stderr.resume();
	const [code, signal] = await closed;
	const lines = (buffers: Buffer[], prefix: string) =>
		Buffer.concat(buffers)
			.toString()
			.split('\n')
			.filter((line) => line.startsWith(prefix));
	return {
		code,
		signal,
		out: lines(chunks.stdout, 'out line '),
		err: lines(chunks.stderr, 'err line '),
		stdout: Buffer.concat(chunks.stdout).toString(),
		stderr: Buffer.concat(chunks.stderr).toString(),
	};
}

describe('nothing written on the way out is lost', () => {
	it('a service that never wrote to stdout or stderr exits without their streams being made just to look at them', async () => {
		const child = startNode(fixture('stdio-untouched.mjs'));
		await child.waitFor(/^ready$/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		expect(child.stderr()).toBe('read [] exit 0\n');
	});

	it('but looks at them, and waits, when a write is still queued (a pipe whose reader does not read)', async () => {
		const child = spawn(process.execPath, [fixture('stdio-untouched.mjs'), 'queued'], { stdio: ['ignore', 'pipe', 'pipe'] });
		child.stdout.pause();
		let stderr = '';
		child.stderr.setEncoding('utf8');
		const closed = once(child, 'close');
		while (!stderr.includes('\n')) stderr += (await once(child.stderr, 'data'))[0];
		child.stderr.on('data', (chunk: string) => (stderr += chunk));
		// The megabyte was handed to the stream and most of it is still queued: the pipe holds 64 KiB.
		expect(Number(/^ready queued (\d+)\n/.exec(stderr)?.[1])).toBeGreaterThan(512 * 1024);
		child.kill('SIGTERM');
		await new Promise((resolve) => setTimeout(resolve, 200));
		let stdout = '';
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
		child.stdout.resume();
		expect((await closed).slice(0, 2)).toEqual([0, null]);
		// Every byte of it arrived: the way out looked at the stream and waited for it.
		expect(stdout).toBe(`${'x'.repeat(1 << 20)}\n`);
		expect(stderr).toMatch(/\nread \["stdout"(,"stderr")?\] exit 0\n$/);
	});

	it('delivers 10,000 lines of 200 bytes on stdout and on stderr through pipes whose reader pauses 300 ms, then exits 0', async () => {
		const { code, signal, out, err, stdout } = await floodThroughSlowPipes(300);
		expect([code, signal]).toEqual([0, null]);
		expect(out).toHaveLength(10_000);
		expect(err).toHaveLength(10_000);
		expect(out.every((line, i) => line.length === 199 && line.startsWith(`out line ${String(i).padStart(5, '0')} `))).toBe(true);
		expect(err.every((line, i) => line.length === 199 && line.startsWith(`err line ${String(i).padStart(5, '0')} `))).toBe(true);
		// onReport's line, written after the listeners, arrives too.
		expect(stdout).toMatch(/\nreport \{"reason":"SIGTERM","outcome":"clean"/);
	});

	it('delivers the failure summary after the flood on stderr, exit 1', async () => {
		const { code, out, err, stderr } = await floodThroughSlowPipes(300, { FLOOD_FAIL: '1' });
		expect(code).toBe(1);
		expect(out).toHaveLength(10_000);
		expect(err).toHaveLength(10_000);
		expect(stderr).toMatch(/\ngraceful-proc: shutdown failed in \d+ ms \(reason: SIGTERM\), exit code 1\n\s+error\s+db \(shutdown, \d+ ms\): Error: pool already closed\n$/);
	});

	it('stops waiting for a reader that never reads at the deadline, and at once on a second signal', async () => {
		for (const second of [false, true]) {
			const deadline = second ? 10_000 : 1500;
			const child = spawn(process.execPath, [script, 'flood'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TIME_TO_FORCE_QUIT: String(deadline) } });
			let stdout = '';
			child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
			const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
			while (!stdout.includes('ready running\n')) await once(child.stdout, 'data');
			// Nobody reads either stream from now on.
			child.stdout.pause();
			child.stderr.pause();
			const sentAt = Date.now();
			child.kill('SIGTERM');
			if (second) {
				// Well past the 100 ms in which a repeat counts as the same signal, however slow the flood was.
				await new Promise((resolve) => setTimeout(resolve, 1000));
				child.kill('SIGTERM');
			}
			const [code] = await exited;
			const elapsed = Date.now() - sentAt;
			child.stdout.destroy();
			child.stderr.destroy();
			expect(code).toBe(0);
			if (second) {
				expect(elapsed).toBeLessThan(deadline / 2);
			} else {
				expect(elapsed).toBeGreaterThanOrEqual(1400);
				expect(elapsed).toBeLessThan(1500 + 1000);
			}
		}
	});

	it("keeps the exit code the application set in process.exitCode after a clean shutdown", async () => {
		const child = startNode(script, ['exit-code'], { env: { APP_EXIT_CODE: '3' } });
		await child.waitFor(/^ready/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([3, null]);
		expect(reportOf(child)).toMatchObject({ outcome: 'clean', exitCode: 3 });
		expect(child.stderr()).toBe('');
	});
});

describe('a forced report says what forced it', () => {
	it("says forcedBy: 'blocked' when the watchdog ends a loop blocked past the deadline", async () => {
		const child = startNode(script, ['block'], { env: { TIME_TO_FORCE_QUIT: '500' } });
		await child.waitFor(/^ready/);
		child.process.kill('SIGTERM');
		expect((await child.closed)[0]).toBe(1);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'blocked', listeners: [{ name: 'busy-loop', outcome: 'pending' }] });
		expect(child.stderr()).toMatch(/exit code 1, forcedBy: blocked\n\s+pending\s+busy-loop/);
	});

	it("says forcedBy: 'deadline' when a listener hangs", async () => {
		const child = startNode(script, ['hang'], { env: { TIME_TO_FORCE_QUIT: '300' } });
		await child.waitFor(/^ready/);
		child.process.kill('SIGTERM');
		expect((await child.closed)[0]).toBe(1);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'deadline' });
	});
});

describe('handleErrors with a thrown value that has no string form', () => {
	it.each(['null-prototype', 'stack'])('turns an uncaught %s throw into a graceful shutdown with exit 1', async (hostile) => {
		const child = startNode(script, ['hostile-throw'], { env: { HOSTILE: hostile } });
		expect(await child.closed).toEqual([1, null]);
		expect(child.stdout).toContain('db closed');
		expect(child.stderr()).toMatch(/^graceful-proc: uncaughtException, shutting down: \S/);
		expect(reportOf(child)).toMatchObject({ outcome: 'failed', exitCode: 1, listeners: [{ name: 'db', outcome: 'ok' }] });
	});
});

describe('many listeners in a real process', () => {
	it('ends 200,000 synchronous listeners clean, exit 0, with the default times', async () => {
		const child = startNode(script, ['many'], { env: { REPORT: 'short' } });
		await child.waitFor(/^ready/, 30_000);
		const sentAt = Date.now();
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		expect(reportOf(child)).toMatchObject({ outcome: 'clean', exitCode: 0, count: 200_001 });
		// The default deadline is 5.5 s; only its own measure is a contract.
		expect(child.closedAt() - sentAt).toBeLessThan(5500);
		expect(child.stderr()).toBe('');
	});

	it('forces 100,000 pending listeners at the deadline with the summary on one screen, gone within a second after it', async () => {
		const child = startNode(script, ['many-pending'], { env: { REPORT: 'short', TIME_TO_FORCE_QUIT: '1000' } });
		await child.waitFor(/^ready/, 30_000);
		const sentAt = Date.now();
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([1, null]);
		expect(child.closedAt() - sentAt).toBeLessThan(1000 + 1000);
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'deadline', count: 100_001 });
		const summary = child.stderr().trim().split('\n');
		expect(summary.length).toBeLessThan(30);
		expect(summary).toContain('  … and 99981 more: 99980 pending, 1 skipped');
	});
});

describe('a loop blocked past the deadline with 50,000 listeners', () => {
	it('exits 1 within a second of the deadline with the summary, the termination message and the report', async () => {
		const file = join(scratch, 'termination-log-blocked');
		writeFileSync(file, '');
		const child = startNode(script, ['block-many'], { env: { REPORT: 'short', LISTENERS: '50000', TIME_TO_FORCE_QUIT: '500', TERMINATION_LOG: file } });
		await child.waitFor(/^ready/, 30_000);
		const sentAt = Date.now();
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([1, null]);
		expect(child.closedAt() - sentAt).toBeLessThan(500 + 1000);
		const summary = child.stderr().trim().split('\n');
		expect(summary[0]).toMatch(/^graceful-proc: shutdown forced after \d+ ms \(reason: SIGTERM\), exit code 1, forcedBy: blocked$/);
		expect(summary[1]).toMatch(/^ {2}pending busy-loop \(wrap-up, \d+ ms\)$/);
		expect(summary[2]).toBe('  skipped job-0 (wrap-up, 0 ms)');
		expect(summary).toContain('  … and 49982 more: 49982 skipped');
		// Either every listener, or (when that would outlive the second after the deadline) the brief one.
		expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'blocked', exitCode: 1 });
		expect([50_002, 200]).toContain(reportOf(child).count);
		const message = readFileSync(file, 'utf8');
		expect(message).toMatch(/^graceful-proc: shutdown forced after \d+ ms \(reason: SIGTERM\), exit code 1, forcedBy: blocked\npending busy-loop/);
		expect(message).toMatch(/\n… and \d+ more: \d+ skipped\n$/);
	});
});

describe('configure({ terminationLog }) in a real process', () => {
	it('writes the termination message to the file before the process exits', async () => {
		const file = join(scratch, 'termination-log');
		writeFileSync(file, '');
		const child = startNode(script, ['fail'], { env: { TERMINATION_LOG: file } });
		await child.waitFor(/^ready/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([1, null]);
		expect(readFileSync(file, 'utf8')).toMatch(/^graceful-proc: shutdown failed in \d+ ms \(reason: SIGTERM\), exit code 1\nerror\s+db \(shutdown, \d+ ms\): Error: pool already closed\n$/);
	});

	it('exits as usual when the file cannot be written', async () => {
		const child = startNode(script, ['clean'], { env: { TERMINATION_LOG: join(scratch, 'no', 'such', 'dir') } });
		await child.waitFor(/^ready/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		expect(child.stderr()).toBe('');
	});
});

describe('run() from a second installed copy', () => {
	it("exits 1 and prints main's stack when main throws under the proc another copy created", async () => {
		const entries = ['one', 'two'].map((name, i) => {
			const dir = join(scratch, 'copies', name, 'node_modules', 'graceful-proc');
			mkdirSync(dir, { recursive: true });
			cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
			const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
			writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version: `0.${i + 1}.0` }));
			return pathToFileURL(join(dir, 'dist', 'index.js')).href;
		});
		const child = startNode(fixture('two-copies-child.mjs'), entries, { env: { MODE: 'run-throws' } });
		expect(await child.closed).toEqual([1, null]);
		expect(child.stdout).toEqual(['ready same=true', 'first shutdown ran']);
		expect(child.stderr()).toMatch(/shutdown failed in \d+ ms \(reason: Error: main failed\), exit code 1\n\s+at main \(.*two-copies-child\.mjs:\d+:\d+\)/);
	});
});
