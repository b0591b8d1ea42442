// The real pm2 for the PM2 tests, with a PM2_HOME of its own (never the user's ~/.pm2): `kill()` ends its
// daemon and removes its folders.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const pm2Bin = join(root, 'node_modules/pm2/bin/pm2');

export interface Pm2Process {
	pid: number;
	name: string;
	pm2_env: { status: string; pm_id: number };
}

export function createPm2() {
	// PM2_HOME holds unix sockets: keep its path short (os.tmpdir(), not the checkout).
	const home = mkdtempSync(join(tmpdir(), 'gp-pm2-'));
	const dir = mkdtempSync(join(tmpdir(), 'gp-pm2-app-'));
	const env = { ...process.env, PM2_HOME: home, PM2_DISCRETE_MODE: 'true' };
	const run = (...args: string[]): Promise<string> =>
		new Promise((resolve, reject) => {
			execFile(process.execPath, [pm2Bin, ...args], { env, cwd: dir, timeout: 60_000 }, (error, stdout, stderr) => {
				if (error) reject(new Error(`pm2 ${args.join(' ')}: ${error.message}\n${stdout}\n${stderr}`));
				else resolve(stdout);
			});
		});
	return {
		home,
		/** A folder for the app's files (ecosystem file, reports). */
		dir,
		run,
		async online(): Promise<Pm2Process[]> {
			return (JSON.parse(await run('jlist')) as Pm2Process[]).filter((p) => p.pm2_env.status === 'online');
		},
		async kill(): Promise<void> {
			await run('kill').catch(() => {});
			rmSync(home, { recursive: true, force: true });
			rmSync(dir, { recursive: true, force: true });
		},
	};
}
