// What the two end-to-end roll tests (HAProxy: rolling.test.ts, nginx: rolling-nginx.test.ts) share: finding the
// proxy's binary, running a roll driver from examples/rolling with --json, and reading its result.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Whether `name` runs (`name -v`): `$ENV_VAR`, then PATH, then /usr/sbin, which is not on every user's PATH. */
export function toolInstalled(name: string, envVar: string): boolean {
	const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
	const candidates = [process.env[envVar], ...dirs.map((dir) => path.join(dir, name)), `/usr/sbin/${name}`];
	return candidates.some((file) => {
		if (!file) return false;
		try {
			accessSync(file, constants.X_OK);
		} catch {
			return false;
		}
		return spawnSync(file, ['-v'], { stdio: 'ignore' }).status === 0;
	});
}

/**
 * Runs a roll driver with `--json --variant both` and resolves with each variant's result (the last stdout line's
 * `results`); rejects with the driver's exit code and stderr if it printed none.
 */
export async function runRoll<Result extends { variant: string }>(driver: string, args: string[]): Promise<{ graceful: Result; baseline: Result }> {
	const { results, code, stderr } = await runDriver<Result>(driver, 'both', args);
	const graceful = results?.find((result) => result.variant === 'graceful');
	const baseline = results?.find((result) => result.variant === 'baseline');
	if (graceful && baseline) return { graceful, baseline };
	throw new Error(`${path.basename(driver)} exited with ${code} and printed no result for both variants:\n${stderr}`);
}

/** Runs a roll driver with `--json --variant baseline` alone: a control roll again. */
export async function runBaselineRoll<Result extends { variant: string }>(driver: string, args: string[]): Promise<Result> {
	const { results, code, stderr } = await runDriver<Result>(driver, 'baseline', args);
	const baseline = results?.find((result) => result.variant === 'baseline');
	if (baseline) return baseline;
	throw new Error(`${path.basename(driver)} exited with ${code} and printed no baseline result:\n${stderr}`);
}

function runDriver<Result>(driver: string, variant: string, args: string[]): Promise<{ results?: Result[]; code: number | null; stderr: string }> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [driver, '--json', '--variant', variant, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
		child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
		child.on('error', reject);
		child.on('close', (code) => {
			let results: Result[] | undefined;
			try {
				results = (JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { results: Result[] }).results;
			} catch {}
			resolve({ results, code, stderr });
		});
	});
}

export function isRunning(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

/** `{ 's1 draining': { '503': 12 } }`: everything but 200s, by phase of the roll. */
export function failures(result: { byPhase: Record<string, Record<string, number>> }): Record<string, Record<string, number>> {
	const out: Record<string, Record<string, number>> = {};
	for (const [phase, counts] of Object.entries(result.byPhase)) {
		const bad = Object.entries(counts).filter(([what]) => what !== '200');
		if (bad.length > 0) out[phase] = Object.fromEntries(bad);
	}
	return out;
}
