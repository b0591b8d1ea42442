import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// `npm start` as the command of a container: the SIGTERM goes to npm. npm runs the script with /bin/sh -c, and
// Debian's sh (dash) forks node instead of replacing itself with it: the signal then ends npm and sh, and the app
// never gets it. `exec` in the script (or running node directly) puts node where the signal arrives. docs/deploy.md.
const root = fileURLToPath(new URL('../..', import.meta.url));
mkdirSync(join(root, '.tmp'), { recursive: true });
const scratch = mkdtempSync(join(root, '.tmp', 'npm-start-'));
const leftovers: number[] = [];
afterAll(() => {
	for (const pid of leftovers) {
		try {
			process.kill(pid, 'SIGKILL');
		} catch {}
	}
	rmSync(scratch, { recursive: true, force: true });
});

const alive = (pid: number) => {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
};

async function npmStart(script: string) {
	const dir = mkdtempSync(join(scratch, 'app-'));
	writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, scripts: { start: script } }));
	mkdirSync(join(dir, 'node_modules'));
	symlinkSync(root, join(dir, 'node_modules/graceful-proc'), 'dir');
	cpSync(join(root, 'test/fixtures/npm-start-server.cjs'), join(dir, 'server.cjs'));
	const npm = spawn('npm', ['start', '--silent'], { cwd: dir, stdio: 'ignore' });
	const closed = once(npm, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
	const pidFile = join(dir, 'pid');
	for (let waited = 0; !existsSync(pidFile) || readFileSync(pidFile, 'utf8') === ''; waited += 10) {
		if (waited > 15_000 || npm.exitCode !== null) throw new Error('the app did not start');
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
	const app = Number(readFileSync(pidFile, 'utf8'));
	leftovers.push(app);
	npm.kill('SIGTERM');
	const [code, signal] = await closed;
	// The app had its chance: its listener takes 300 ms.
	for (let waited = 0; alive(app) && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
	const reportFile = join(dir, 'report.json');
	return { code, signal, appAlive: alive(app), report: existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : undefined };
}

describe('npm start receiving SIGTERM', () => {
	it('"start": "exec node server.cjs": the app gets the signal, stops clean, and npm exits 0', async () => {
		const { code, appAlive, report } = await npmStart('exec node server.cjs');
		expect(appAlive).toBe(false);
		expect(report).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });
		expect(code).toBe(0);
	});

	const dash = realpathSync('/bin/sh').endsWith('dash');
	it.skipIf(!dash)('"start": "node server.cjs" with Debian\'s sh: npm ends at once by SIGTERM (143) and the app, orphaned, never gets the signal', async () => {
		const { code, signal, appAlive, report } = await npmStart('node server.cjs');
		// npm ends itself with the signal it got: a shell or a container runtime reports 143 (128 + SIGTERM).
		expect([code, signal]).toEqual([null, 'SIGTERM']);
		expect(appAlive).toBe(true);
		expect(report).toBeUndefined();
	});
});
