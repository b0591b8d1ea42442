// The real pm2 (test/helpers/pm2.ts): a cluster-mode reload of an Express app that uses serve(), under load.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pm2KillTimeout } from '../../src/pm2-env.js';
import { createPm2, root } from '../helpers/pm2.js';

const pm2 = createPm2();
const { dir } = pm2;

async function freePort(): Promise<number> {
	const server = net.createServer().listen(0, '127.0.0.1');
	await new Promise((resolve) => server.once('listening', resolve));
	const { port } = server.address() as net.AddressInfo;
	await new Promise((resolve) => server.close(resolve));
	return port;
}

const workers = () => pm2.online();

let port: number;

beforeAll(async () => {
	port = await freePort();
	writeFileSync(
		join(dir, 'ecosystem.config.cjs'),
		`module.exports = ${JSON.stringify(
			{
				apps: [
					{
						name: 'gp-app',
						script: join(root, 'test/fixtures/pm2-app.cjs'),
						exec_mode: 'cluster',
						instances: 2,
						wait_ready: true,
						listen_timeout: 10_000,
						// Above graceful-proc's force-quit time (5,500 ms by default), so PM2's SIGKILL never cuts a stop.
						kill_timeout: 8000,
						env: { PORT: String(port), REPORT_DIR: dir },
					},
				],
			},
			null,
			2,
		)};\n`,
	);
	await pm2.run('start', join(dir, 'ecosystem.config.cjs'));
}, 60_000);

afterAll(() => pm2.kill(), 60_000);

describe('PM2 cluster mode', () => {
	it('passes kill_timeout and its own marks in the environment, which pm2KillTimeout() reads', async () => {
		const online = await workers();
		expect(online).toHaveLength(2);
		for (const { pid } of online) {
			const seen = JSON.parse(readFileSync(join(dir, `env-${pid}.json`), 'utf8'));
			expect(seen).toMatchObject({ kill_timeout: '8000', exec_mode: 'cluster_mode' });
			expect(pm2KillTimeout(seen)).toBe(8000);
		}
	});

	it('pm2 reload under keep-alive load (16 clients) fails no request, and every old worker stops clean', async () => {
		const old = (await workers()).map((w) => w.pid);
		expect(old).toHaveLength(2);
		const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
		const failures: string[] = [];
		const servedBy = new Set<string>();
		let ok = 0;
		let stop = false;
		const get = () =>
			new Promise<void>((resolve) => {
				const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
					let body = '';
					res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
					res.on('end', () => {
						if (res.statusCode === 200) {
							ok++;
							servedBy.add(body.split(' ')[1]!);
						} else failures.push(`status ${res.statusCode}`);
						resolve();
					});
					res.on('error', (error) => {
						failures.push(`response: ${error.message}`);
						resolve();
					});
				});
				req.on('error', (error) => {
					failures.push(`request: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
					resolve();
				});
			});
		const clients = Array.from({ length: 16 }, async () => {
			while (!stop) await get();
		});
		// Load before, during and after the reload.
		let okBefore = 0;
		try {
			await new Promise((resolve) => setTimeout(resolve, 500));
			okBefore = ok;
			await pm2.run('reload', 'gp-app');
			await new Promise((resolve) => setTimeout(resolve, 500));
		} finally {
			stop = true;
			await Promise.all(clients);
			agent.destroy();
		}

		expect(failures).toEqual([]);
		console.log(`pm2 reload: ${ok} requests, ${failures.length} failed`);
		expect(okBefore).toBeGreaterThan(0);
		expect(ok).toBeGreaterThan(okBefore);
		const now = (await workers()).map((w) => w.pid);
		expect(now).toHaveLength(2);
		expect(now.filter((pid) => old.includes(pid))).toEqual([]);
		// Both generations answered.
		for (const pid of [...old, ...now]) expect(servedBy.has(String(pid))).toBe(true);
		for (const pid of old) {
			const file = join(dir, `report-${pid}.json`);
			expect(existsSync(file), `report of old worker ${pid}`).toBe(true);
			const report = JSON.parse(readFileSync(file, 'utf8'));
			expect(report).toMatchObject({ outcome: 'clean', exitCode: 0 });
			expect(report.listeners.every((l: { outcome: string }) => l.outcome === 'ok')).toBe(true);
		}
	}, 90_000);
});
