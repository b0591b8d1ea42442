import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHealthTicker } from '../../src/health/index.js';
import { tickerJar } from '../helpers/health.js';

const jar = tickerJar();
let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'graceful-proc-not-ready-'));
});

afterEach(async () => {
	await jar.stopAll();
	await rm(dir, { recursive: true, force: true });
});

function verdicts(ticker: ReturnType<typeof createHealthTicker>) {
	const answers: Record<string, [number, string]> = {};
	for (const path of ['/readyz', '/livez', '/healthz']) {
		let code = 0;
		let body = '';
		ticker.handler({ url: path, method: 'GET' } as never, {
			writeHead: (c: number) => void (code = c),
			end: (b: string) => void (body = b),
		} as never);
		answers[path] = [code, body];
	}
	return answers;
}

describe('notReadyFile takes the instance out of rotation while it exists', () => {
	it('turns ready false at the next round after the file appears, and back after it goes; liveness and /healthz untouched', async () => {
		const file = join(dir, 'not-ready');
		const heartbeatFile = join(dir, 'heartbeat');
		const ticker = jar.track(createHealthTicker({ checks: { db: () => true }, interval: 60_000, notReadyFile: file, heartbeatFile, proc: false }));
		const changes: boolean[] = [];
		ticker.onChange((status) => changes.push(status.ready));
		expect((await ticker.check()).ready).toBe(true);

		await writeFile(file, '');
		// Not before a round has looked: probes answer from the cache.
		expect(ticker.status().ready).toBe(true);
		const status = await ticker.check();
		expect(status).toMatchObject({ started: true, live: true, ready: false });
		expect(status.checks.db?.ok).toBe(true);
		expect(verdicts(ticker)).toEqual({
			'/readyz': [503, JSON.stringify({ status: 'fail', reason: `taken out of rotation: ${file} exists` })],
			'/livez': [200, '{"status":"ok"}'],
			'/healthz': [200, '{"status":"ok"}'],
		});
		// The heartbeat (liveness for workers) goes on.
		const touched = (await stat(heartbeatFile)).mtimeMs;
		await new Promise((resolve) => setTimeout(resolve, 20));
		await ticker.check();
		expect((await stat(heartbeatFile)).mtimeMs).toBeGreaterThan(touched);

		await rm(file);
		expect((await ticker.check()).ready).toBe(true);
		expect(verdicts(ticker)['/readyz']).toEqual([200, '{"status":"ok"}']);
		expect(changes).toEqual([true, false, true]);
	});

	it('is not ready from the first round when the file is already there at start', async () => {
		const file = join(dir, 'not-ready');
		await writeFile(file, '');
		const ticker = jar.track(createHealthTicker({ checks: { db: () => true }, interval: 60_000, notReadyFile: file, proc: false }));
		expect(await ticker.check()).toMatchObject({ started: true, ready: false });
	});

	it('keeps setReady(false) in force: both switches must be on', async () => {
		const file = join(dir, 'not-ready');
		const ticker = jar.track(createHealthTicker({ checks: { db: () => true }, interval: 60_000, notReadyFile: file, proc: false }));
		await ticker.check();
		ticker.setReady(false);
		await writeFile(file, '');
		await rm(file);
		expect((await ticker.check()).ready).toBe(false);
		ticker.setReady(true);
		expect(ticker.status().ready).toBe(true);
	});

	it('says once, with a code, when it cannot look at the file (Deno without --allow-read for it), and keeps what it knew', async () => {
		// A name too long for the file system: lstat fails with ENAMETOOLONG, as a file it may not look at would.
		const file = join(dir, 'x'.repeat(300));
		const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
		try {
			const ticker = jar.track(createHealthTicker({ checks: { db: () => true }, interval: 60_000, notReadyFile: file, proc: false }));
			expect((await ticker.check()).ready).toBe(true);
			await ticker.check();
			expect(warn).toHaveBeenCalledOnce();
			expect(warn.mock.calls[0]).toEqual([
				expect.stringMatching(/^graceful-proc: cannot tell whether notReadyFile \S+ exists \(.*ENAMETOOLONG.*\); `graceful-proc ready off` cannot take this instance out of rotation$/),
				{ code: 'GRACEFUL_PROC_NOT_READY_FILE' },
			]);
		} finally {
			warn.mockRestore();
		}
	});

	it.each([
		['an empty path', '', RangeError, 'Expected `options.notReadyFile` to be a non-empty string, got `""` (string)'],
		['null', null, TypeError, 'Expected `options.notReadyFile` to be a non-empty string, got `null` (null)'],
		['a number', 1, TypeError, 'Expected `options.notReadyFile` to be a non-empty string, got `1` (number)'],
	])('refuses %s', (_, notReadyFile, ErrorClass, message) => {
		expect(() => createHealthTicker({ checks: { db: () => true }, notReadyFile, proc: false } as never)).toThrow(new ErrorClass(message));
	});
});
