import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startNode } from '../helpers/child.js';
import { makeSampleDir } from '../helpers/samples.js';

// The recipe as a newcomer writes it: serve() with a readiness delay and every time of the proc left at its
// default. Issue 16: a request that arrives late in the delay and takes a while must still be answered.
const dir = makeSampleDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SERVER = `
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { configure } from 'graceful-proc';
import { serve } from 'graceful-proc/http';

const app = express();
app.get('/slow', async (req, res) => {
	await sleep(1500);
	res.send('slow done\\n');
});
configure({ onReport: (report) => console.log('report ' + JSON.stringify(report)) });
const { server } = await serve(app, { port: 0, host: '127.0.0.1', delay: 5000 });
console.log('listening ' + server.address().port);
`;

function get(port: number, path: string): Promise<{ status: number; body: string }> {
	return new Promise((resolve, reject) => {
		http
			.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
				let body = '';
				res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
				res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
				res.on('error', reject);
			})
			.on('error', reject);
	});
}

describe('serve() with a delay and every time at its default', () => {
	it('answers a 1.5 s request that arrives 4.5 s after SIGTERM, inside the 5 s delay, and stops clean', async () => {
		const home = join(dir, 'defaults');
		mkdirSync(home, { recursive: true });
		const file = join(home, 'server.mjs');
		writeFileSync(file, SERVER);
		const child = startNode(file);
		const [, port] = await child.waitFor(/^listening (\d+)$/);
		child.process.kill('SIGTERM');
		// Not a handshake: the scenario is a request that arrives this late in the delay.
		await sleep(4500);
		const response = await get(Number(port), '/slow').catch((error: Error) => ({ status: 0, body: error.message }));
		const [code, signal] = await child.closed;
		const reportLine = child.stdout.find((line) => line.startsWith('report '));
		const context = `stdout:\n${child.stdout.join('\n')}\nstderr:\n${child.stderr()}`;
		expect(response, context).toEqual({ status: 200, body: 'slow done\n' });
		expect([code, signal], context).toEqual([0, null]);
		expect(JSON.parse(reportLine!.slice('report '.length)), context).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });
		// A clean stop says nothing: no warning that the times do not fit, no summary.
		expect(child.stderr(), context).toBe('');
	}, 20_000);
});
