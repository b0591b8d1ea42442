import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHealthTicker } from '../../src/health/index.js';
import { tickerJar } from '../helpers/health.js';

const jar = tickerJar();
let dir: string;
const longAgo = new Date('2001-02-03T04:05:06Z');

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'graceful-proc-heartbeat-'));
});

afterEach(async () => {
	await jar.stopAll();
	await rm(dir, { recursive: true, force: true });
});

function flakyTicker(file: string, options: { successThreshold?: number } = {}) {
	const state = { ok: true };
	const ticker = jar.track(
		createHealthTicker({
			checks: {
				db: () => {
					if (!state.ok) throw new Error('down');
				},
			},
			interval: 60_000,
			heartbeatFile: file,
			proc: false,
			...options,
		}),
	);
	return { ticker, state };
}

describe('heartbeatFile is touched after every good round', () => {
	it('creates the file after the first good round', async () => {
		const file = join(dir, 'healthy');
		const { ticker } = flakyTicker(file);
		const before = Date.now();
		await ticker.check();
		const { mtimeMs, size } = await stat(file);
		expect(size).toBe(0);
		expect(mtimeMs).toBeGreaterThanOrEqual(before - 1000);
		expect(mtimeMs).toBeLessThanOrEqual(Date.now() + 1000);
	});

	it('updates the mtime of an existing file after each good round, without touching its content', async () => {
		const file = join(dir, 'healthy');
		await writeFile(file, 'keep me');
		const { ticker } = flakyTicker(file);
		for (let round = 0; round < 3; round++) {
			await utimes(file, longAgo, longAgo);
			await ticker.check();
			expect((await stat(file)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
		}
		expect(await readFile(file, 'utf8')).toBe('keep me');
	});

	it('leaves the file alone after a failed round, so it goes stale', async () => {
		const file = join(dir, 'healthy');
		const { ticker, state } = flakyTicker(file);
		await ticker.check();
		await utimes(file, longAgo, longAgo);
		state.ok = false;
		await ticker.check();
		expect((await stat(file)).mtime).toEqual(longAgo);
		state.ok = true;
		await ticker.check();
		expect((await stat(file)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
	});

	it('does not create it before the checks count as passing (successThreshold)', async () => {
		const file = join(dir, 'healthy');
		const { ticker } = flakyTicker(file, { successThreshold: 2 });
		await ticker.check();
		await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
		await ticker.check();
		expect((await stat(file)).isFile()).toBe(true);
	});

	it('warns once when the file cannot be written, and keeps the ticker running', async () => {
		const warnings: Array<Error & { code?: string }> = [];
		const onWarning = (warning: Error) => warnings.push(warning);
		process.on('warning', onWarning);
		try {
			const { ticker } = flakyTicker(join(dir, 'missing-dir', 'healthy'));
			for (let round = 0; round < 3; round++) await ticker.check();
			expect(ticker.status()).toMatchObject({ started: true, ready: true });
			await new Promise((resolve) => setImmediate(resolve));
			const ours = warnings.filter((w) => w.code === 'GRACEFUL_PROC_HEARTBEAT');
			expect(ours).toHaveLength(1);
			expect(ours[0]?.message).toContain('ENOENT');
		} finally {
			process.off('warning', onWarning);
		}
	});
});
