import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, startNode, type Child } from '../helpers/child.js';

// These spawn fixtures that import the built package: run `npm run build` first.

let dir: string;
const children: Child[] = [];

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'graceful-proc-health-'));
});

afterEach(async () => {
	for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
	await rm(dir, { recursive: true, force: true });
});

async function probe(url: string): Promise<{ status: number; body: unknown }> {
	const res = await fetch(url, { headers: { connection: 'close' } });
	return { status: res.status, body: await res.json() };
}

function closedWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	return Promise.race([
		promise,
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`the child was still running after ${ms} ms`)), ms);
		}),
	]).finally(() => clearTimeout(timer));
}

describe('a ticker alone never keeps a process alive', () => {
	it('lets a process with a ticker, a probe server and a heartbeat end by itself, with exit code 0', async () => {
		const child = startNode(fixture('health-alone.mjs'), [dir]);
		children.push(child);
		await child.waitFor(/^ready /);
		expect(await closedWithin(child.closed, 10_000)).toEqual([0, null]);
		expect((await stat(join(dir, 'heartbeat'))).isFile()).toBe(true);
	});
});

describe('a real SIGTERM turns readiness false while the service drains, and keeps it live', () => {
	it('answers /readyz 503 and /livez 200 during the wrap-up phase, then stops with the process (exit 0)', async () => {
		const child = startNode(fixture('health-sigterm.mjs'));
		children.push(child);
		const [, url] = (await child.waitFor(/^ready (\S+)$/)) as RegExpMatchArray;
		expect((await probe(`${url}/readyz`)).status).toBe(200);

		child.process.kill('SIGTERM');
		await child.waitFor(/^wrapping-up$/);
		expect(await probe(`${url}/readyz`)).toEqual({ status: 503, body: { status: 'fail', reason: 'shutting down' } });
		expect(await probe(`${url}/livez`)).toEqual({ status: 200, body: { status: 'ok' } });

		child.process.kill('SIGUSR2');
		expect(await closedWithin(child.closed, 10_000)).toEqual([0, null]);
		const report = JSON.parse((await child.waitFor(/^report (.+)$/))[1]!);
		expect(report.outcome).toBe('clean');
		expect(report.listeners).toHaveLength(2);
		expect(report.listeners).toEqual(
			expect.arrayContaining([
				['health', 'shutdown', 'ok'],
				['drain-like', 'wrap-up', 'ok'],
			]),
		);
	});
});

describe('rounds keep their interval in an idle process, also when checks time out', () => {
	// The child's only ref'd handle is a timer of its own that fires once, after 2 s: the loop sleeps in
	// between unless the ticker's own (unref'd) timers wake it. interval 100, a check that always times out.
	it.each([
		['with the loop-stall monitor on (the default)', []],
		['with nothing else of the ticker waking the loop', ['--no-loop-monitor']],
	])('runs about 20 rounds in 2 s %s', async (_, flags) => {
		const child = startNode(fixture('health-idle.mjs'), ['2000', ...flags]);
		children.push(child);
		await child.waitFor(/^ready$/);
		const [, rounds] = (await child.waitFor(/^rounds (\d+)$/, 20_000)) as RegExpMatchArray;
		// About 20 (2000 / 100 ms); a loaded machine loses a few, a stopped ticker gets 1 to 5.
		expect(Number(rounds)).toBeGreaterThanOrEqual(12);
		expect(Number(rounds)).toBeLessThanOrEqual(21);
		expect(await closedWithin(child.closed, 10_000)).toEqual([0, null]);
	});
});

describe('a check that fails with a value that resists being shown does not kill the process', () => {
	it('lives through rounds of a throwing message getter, a throwing toJSON and toString, a BigInt in a null-prototype object, a revoked Proxy', async () => {
		const child = startNode(fixture('health-hostile.mjs'));
		children.push(child);
		const [, json] = (await child.waitFor(/^status (.+)$/)) as RegExpMatchArray;
		expect(await closedWithin(child.closed, 10_000)).toEqual([0, null]);
		expect(child.stderr()).not.toMatch(/Unhandled|uncaught/i);
		const status = JSON.parse(json!);
		expect(status).toMatchObject({ started: false, ready: false, live: true });
		expect(status.checks).toEqual({
			badMessage: expect.objectContaining({ ok: false, error: 'Error' }),
			unprintable: expect.objectContaining({ ok: false, error: 'failed with a value that cannot be shown (object)' }),
			bigint: expect.objectContaining({ ok: false, error: '{"rows":"10n"}' }),
			revoked: expect.objectContaining({ ok: false, error: 'failed with a value that cannot be shown (object)' }),
		});
	});
});
