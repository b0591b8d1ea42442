// nodemon sends its restart signal twice: `child.kill()`, then, once `ps` shows no children of the app, `kill
// -USR2` again. How long that takes is `ps`'s business: here a `ps` made slow by a wrapper first on nodemon's PATH
// puts the second copy 300 ms and 1 s after the first, as a loaded machine or an app with children of its own does.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/child.js';
import { get, runWatched, type WatchedApp } from '../helpers/watched-app.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const linux = process.platform === 'linux';
mkdirSync(join(root, '.tmp'), { recursive: true });
const shims = mkdtempSync(join(root, '.tmp', 'slow-ps-'));
afterAll(() => rmSync(shims, { recursive: true, force: true }));

/** A folder with a `ps` that waits `ms` before running the real one. */
function slowPs(ms: number): string {
	const dir = join(shims, String(ms));
	mkdirSync(dir, { recursive: true });
	const real = execFileSync('sh', ['-c', 'command -v ps'], { encoding: 'utf8' }).trim();
	writeFileSync(join(dir, 'ps'), `#!/bin/sh\nsleep ${ms / 1000}\nexec ${real} "$@"\n`);
	chmodSync(join(dir, 'ps'), 0o755);
	return dir;
}

const apps: WatchedApp[] = [];
afterEach(() => {
	for (const app of apps.splice(0)) app.stop();
});

/** When each SIGUSR2 reached the app, from graceful-proc's debug log (`<ISO time> graceful-proc:proc received SIGUSR2 in state <state>`). */
function arrivals(stderr: string): Array<{ at: number; state: string }> {
	return [...stderr.matchAll(/^(\S+) graceful-proc:proc received SIGUSR2 in state (\S+)$/gm)].map((m) => ({ at: Date.parse(m[1]!), state: m[2]! }));
}

describe.skipIf(!linux)("nodemon's second SIGUSR2, late", () => {
	it.each([300, 1000])('%i ms after the first: one restart; the request in flight is answered, the report is clean, nodemon starts the app again', async (ms) => {
		const app = runWatched(fixture('readme-server.mjs'), 'nodemon', {
			env: { PATH: `${slowPs(ms)}:${process.env.PATH}`, DEBUG: 'graceful-proc:proc', SLOW_MS: '4000' },
		});
		apps.push(app);
		const [, port] = await app.waitFor(/^listening (\d+) (\d+) (\d+)$/, 0, 20_000);
		const inFlight = get(Number(port), '/slow');
		await app.waitFor(/^started \/slow$/);
		const from = app.lines.length;
		app.save();
		expect(await inFlight).toEqual({ status: 200, body: 'done /slow\n' });
		const report = JSON.parse((await app.waitFor(/^report (.*)$/, from))[1]!);
		expect(report).toMatchObject({ reason: 'SIGUSR2', outcome: 'clean', exitCode: 0, listeners: expect.arrayContaining([`http 127.0.0.1:${port}:ok`, 'db:ok']) });
		// Both copies came while the app was stopping, the second at least `ms` after the first.
		const [first, second] = arrivals(app.stderr());
		expect(first?.state).toBe('running');
		expect(second?.state).toMatch(/^(wrapping-up|shutting-down)$/);
		expect(second!.at - first!.at).toBeGreaterThanOrEqual(ms - 20);
		const [, again] = await app.waitFor(/^listening (\d+) (\d+) (\d+)$/, from, 20_000);
		expect(await get(Number(again), '/')).toEqual({ status: 200, body: 'hello\n' });
	}, 40_000);
});
