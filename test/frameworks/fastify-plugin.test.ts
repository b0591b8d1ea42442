import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixture, reportOf, startNode } from '../helpers/child.js';

interface Answer {
	status: number;
	connection: string | undefined;
	body: string;
}

function get(host: string, port: number, path: string, method = 'GET'): Promise<Answer> {
	return new Promise((resolve, reject) => {
		const req = http.request({ host, port, path, method, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
			res.on('error', reject);
		});
		req.on('error', reject);
		req.end();
	});
}

// graceful-proc/fastify with the real Fastify 5, listening on `localhost`: Fastify binds 127.0.0.1 and ::1 with
// a server each, and fastify.close() alone resolves while a request on the second one still runs (fastify #7043).
describe('the Fastify plugin: await app.register(gracefulProc, { delay, health })', () => {
	it('drains every server Fastify made: a slow request on ::1 and one on 127.0.0.1 are both answered, then the onClose hooks run, exit 0', async () => {
		const child = startNode(fixture('fastify-plugin-server.mjs'), [], {
			env: { DELAY: '500' },
			execArgv: ['--import', pathToFileURL(fixture('localhost-both-families.mjs')).href],
		});
		const [, portText, addresses] = await child.waitFor(/^ready (\d+) (\S+)$/);
		const port = Number(portText);
		expect(addresses).toBe('127.0.0.1,::1');
		expect((await get('127.0.0.1', port, '/readyz')).status).toBe(200);
		expect((await get('::1', port, '/readyz')).status).toBe(200);
		const v6 = get('::1', port, '/slow?ms=1500&id=v6');
		const v4 = get('127.0.0.1', port, '/slow?ms=1500&id=v4');
		await Promise.all([child.waitFor(/^arrived v6$/), child.waitFor(/^arrived v4$/)]);
		child.process.kill('SIGTERM');
		await child.waitFor(/^shutting down$/);
		// During the delay: not ready, still serving, on both addresses.
		const [ready6, ready4, head, live] = await Promise.all([
			get('::1', port, '/readyz'),
			get('127.0.0.1', port, '/readyz'),
			get('127.0.0.1', port, '/readyz', 'HEAD'),
			get('::1', port, '/livez'),
		]);
		expect([ready6.status, ready6.body]).toEqual([503, '{"status":"fail","reason":"shutting down"}']);
		expect([ready4.status, head.status, head.body, live.status]).toEqual([503, 503, '', 200]);
		expect(await v6).toEqual({ status: 200, connection: 'close', body: 'ok' });
		expect(await v4).toEqual({ status: 200, connection: 'close', body: 'ok' });
		expect(await child.closed, child.stderr()).toEqual([0, null]);
		const events = child.stdout.find((line) => line.startsWith('events '))!.slice('events '.length).split(',');
		expect(events.indexOf('onClose')).toBe(events.length - 1);
		expect(events).toEqual(expect.arrayContaining(['answered v6', 'answered v4']));
		const report = reportOf(child);
		expect(report).toMatchObject({ outcome: 'clean', exitCode: 0 });
		expect(report.listeners.map((l: { name: string; phase: string; outcome: string }) => `${l.phase} ${l.name} ${l.outcome}`).sort()).toEqual([
			'shutdown fastify ok',
			'shutdown health ok',
			`wrap-up http 127.0.0.1:${port} ok`,
			`wrap-up http [::1]:${port} ok`,
		]);
		expect(child.stderr()).toBe('');
	});
});
