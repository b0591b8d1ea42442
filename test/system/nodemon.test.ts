import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/child.js';

const nodemon = createRequire(import.meta.url).resolve('nodemon/bin/nodemon.js');
const cleanups: Array<() => void> = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0)) cleanup();
});

function get(port: number, path: string): Promise<{ status: number | undefined; body: string }> {
	return new Promise((resolve, reject) => {
		request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode, body }));
		})
			.on('error', reject)
			.end();
	});
}

describe('under nodemon', () => {
	it('takes nodemon\'s restart signal (SIGUSR2) as a graceful stop: the request in flight is answered, then nodemon starts the app again', async () => {
		const child = spawn(process.execPath, [nodemon, '--watch', fixture('nodemon-server.mjs'), fixture('nodemon-server.mjs')], {
			stdio: ['pipe', 'pipe', 'pipe'],
			env: { ...process.env, FORCE_COLOR: '0' },
		});
		cleanups.push(() => child.kill('SIGKILL'));
		// nodemon's own lines and the app's arrive on one stream: wait for an app line after a given point.
		const lines: string[] = [];
		let partial = '';
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
			const parts = (partial + chunk).split('\n');
			partial = parts.pop()!;
			lines.push(...parts);
			child.stdout.emit('lines');
		});
		const waitFor = (pattern: RegExp, after = 0) =>
			new Promise<RegExpMatchArray>((resolve) => {
				const look = () => {
					for (const line of lines.slice(after)) {
						const match = line.match(pattern);
						if (match) {
							child.stdout.off('lines', look);
							return resolve(match);
						}
					}
				};
				child.stdout.on('lines', look);
				look();
			});

		const port = Number((await waitFor(/^ready (\d+)$/))[1]);
		const readyLines = lines.length;
		const inFlight = get(port, '/slow');
		await waitFor(/^started \/slow$/);
		child.stdin.write('rs\n');
		// Before, nothing handled SIGUSR2: Node's default action killed the app and the request was reset.
		expect(await inFlight).toEqual({ status: 200, body: 'done /slow' });
		expect(JSON.parse((await waitFor(/^report (.*)$/))[1]!)).toEqual({ reason: 'SIGUSR2', outcome: 'clean', exitCode: 0 });
		const again = Number((await waitFor(/^ready (\d+)$/, readyLines))[1]);
		expect(await get(again, '/after')).toEqual({ status: 200, body: 'done /after' });
		child.kill('SIGINT');
		await once(child, 'close');
	}, 20_000);
});
