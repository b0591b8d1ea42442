// The pino recipe of docs/recipes.md, for real: pino with `transport: { target: 'pino/file' }` (a worker thread
// writes the file), a service under keep-alive load, a real SIGTERM, and the file read after the exit: every
// line written during the shutdown is there, the report included (logged in the last step), whatever the exit
// code, and the exit code is the sequence's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, startNode } from '../helpers/child.js';
import { startLoadLoop } from '../helpers/load-loop.js';

const LINES = 5000;
let dir: string | undefined;
afterEach(() => {
	if (dir) rmSync(dir, { recursive: true, force: true });
	dir = undefined;
});

async function shutdownUnderLoad(mode: string, env: NodeJS.ProcessEnv = {}) {
	dir = mkdtempSync(join(tmpdir(), 'graceful-proc-pino-'));
	const file = join(dir, 'app.log');
	const child = startNode(fixture('pino-app.mjs'), [], { env: { MODE: mode, LOG_FILE: file, LINES: String(LINES), ...env } });
	const [, port] = await child.waitFor(/^ready (\d+)/, 30_000);
	const load = startLoadLoop(Number(port), { connections: 2 });
	await load.answeredAtLeast(20);
	const signalAt = Date.now();
	child.process.kill('SIGTERM');
	const closed = await child.closed;
	await load.done;
	const records = readFileSync(file, 'utf8')
		.split('\n')
		.filter((line) => line !== '')
		.map((line) => JSON.parse(line) as { msg: string; i?: number; path?: string; report?: any });
	const logged = new Set(records.filter((r) => r.msg === 'request').map((r) => r.path));
	const count = (msg: string) => new Set(records.filter((r) => r.msg === msg).map((r) => r.i)).size;
	return {
		closed,
		stderr: child.stderr(),
		answeredAfterSignal: load.answered.filter((a) => a.at > signalAt).length,
		requestsWithoutLine: load.answered.filter((a) => !logged.has(a.path)).map((a) => a.path),
		count,
		reports: records.filter((r) => r.msg === 'shutdown report').map((r) => r.report),
		last: records.at(-1)?.msg,
	};
}

describe('pino with a transport: every line written during the shutdown is in the file after the exit', () => {
	it('a clean stop: the lines of the drain, of the listeners and the report are all there, exit 0', async () => {
		const run = await shutdownUnderLoad('clean');
		expect(run.closed, run.stderr).toEqual([0, null]);
		expect(run.answeredAfterSignal).toBeGreaterThan(0);
		expect(run.requestsWithoutLine).toEqual([]);
		expect(run.count('db line')).toBe(LINES);
		expect(run.reports).toMatchObject([{ reason: 'SIGTERM', outcome: 'clean', exitCode: 0, listeners: [{ name: expect.stringMatching(/^http /) }, { name: 'db', outcome: 'ok' }] }]);
		expect(run.last).toBe('shutdown report');
		expect(run.stderr).toBe('');
	});

	it('a failed stop: all the lines, the report with the error\'s stack and cause, exit 1', async () => {
		const run = await shutdownUnderLoad('failed');
		expect(run.closed, run.stderr).toEqual([1, null]);
		expect(run.requestsWithoutLine).toEqual([]);
		expect(run.count('db line')).toBe(LINES);
		const [report] = run.reports;
		expect(report).toMatchObject({ outcome: 'failed', exitCode: 1 });
		const db = report.listeners.find((row: { name: string }) => row.name === 'db');
		expect(db).toMatchObject({ outcome: 'error', error: { name: 'Error', message: 'pool already closed', cause: { message: 'socket hang up' } } });
		expect(db.error.stack).toMatch(/pino-app\.mjs/);
		expect(run.stderr).toMatch(/shutdown failed/);
	});

	it('a forced stop (a wrap-up listener that never ends): all the lines it wrote and the forced report, exit 1', async () => {
		const run = await shutdownUnderLoad('forced');
		expect(run.closed, run.stderr).toEqual([1, null]);
		expect(run.count('stuck line')).toBe(LINES);
		expect(run.reports).toMatchObject([{ outcome: 'forced', forcedBy: 'deadline', exitCode: 1 }]);
		expect(run.last).toBe('shutdown report');
	});

	it('the exit code the application set is kept (75), with every line', async () => {
		const run = await shutdownUnderLoad('exitcode');
		expect(run.closed, run.stderr).toEqual([75, null]);
		expect(run.count('db line')).toBe(LINES);
		expect(run.reports).toMatchObject([{ outcome: 'clean', exitCode: 75 }]);
	});
});
