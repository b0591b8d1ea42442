import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPm2, root } from '../helpers/pm2.js';

// PM2 SIGKILLs an app kill_timeout ms after its stop signal (1,600 ms unless set), before graceful-proc's default
// force-quit time (5,500 ms). Under PM2, times the app did not set fit inside kill_timeout, so that a stop that
// takes too long ends with graceful-proc's report rather than with PM2's SIGKILL and nothing.
const pm2 = createPm2();
afterAll(() => pm2.kill(), 60_000);

async function startAndStop(name: string, killTimeout: number | undefined) {
	writeFileSync(
		join(pm2.dir, `${name}.config.cjs`),
		`module.exports = ${JSON.stringify({
			apps: [{ name, script: join(root, 'test/fixtures/pm2-slow-stop.cjs'), env: { REPORT_DIR: pm2.dir }, ...(killTimeout === undefined ? {} : { kill_timeout: killTimeout }) }],
		})};\n`,
	);
	await pm2.run('start', join(pm2.dir, `${name}.config.cjs`));
	const [app] = (await pm2.online()).filter((p) => p.name === name);
	const started = join(pm2.dir, `started-${app!.pid}`);
	for (let waited = 0; !existsSync(started); waited += 20) {
		if (waited > 15_000) throw new Error(`${name} did not start`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	const stoppedAt = Date.now();
	await pm2.run('stop', name);
	const took = Date.now() - stoppedAt;
	const file = join(pm2.dir, `report-${app!.pid}.json`);
	return { took, timeToForceQuit: Number(readFileSync(started, 'utf8')), report: existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined };
}

describe("under PM2's kill_timeout", () => {
	it('with the default kill_timeout, the deadline comes first: a report names the listener still running', async () => {
		const { timeToForceQuit, report } = await startAndStop('default-kill', undefined);
		expect(timeToForceQuit).toBeLessThan(1600);
		expect(report).toMatchObject({ reason: 'SIGINT', outcome: 'forced', exitCode: 1, listeners: [{ name: 'flush', outcome: 'pending' }] });
		expect(report.durationMs).toBeLessThan(1600);
	}, 60_000);

	it('with kill_timeout above the force-quit time, as docs/deploy.md says, the 3 s listener finishes and the stop is clean', async () => {
		const { timeToForceQuit, report } = await startAndStop('long-kill', 7000);
		expect(timeToForceQuit).toBe(5500);
		expect(report).toMatchObject({ reason: 'SIGINT', outcome: 'clean', exitCode: 0, listeners: [{ name: 'flush', outcome: 'ok' }] });
	}, 60_000);
});
