import http from 'node:http';
import net from 'node:net';
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

/** Whether this machine can listen on ::1 (a container without IPv6 cannot). */
function hasIpv6Loopback(): Promise<boolean> {
	return new Promise((resolve) => {
		const server = net.createServer();
		server.once('error', () => resolve(false));
		server.listen(0, '::1', () => server.close(() => resolve(true)));
	});
}
const ipv6 = await hasIpv6Loopback();

// Where the plugin is registered, and where its /readyz and /livez are then.
const placements: Array<[string, Record<string, string>, { readyz: string; livez: string }]> = [
	['on the root instance', {}, { readyz: '/readyz', livez: '/livez' }],
	['inside a child context with a prefix, probes at paths of its own', { CHILD_CONTEXT: '/api' }, { readyz: '/api/ready', livez: '/api/live' }],
];

// graceful-proc/fastify with the real Fastify 5, listening on `localhost`: Fastify binds 127.0.0.1 and ::1 with
// a server each, and fastify.close() alone resolves while a request on the second one still runs (fastify #7043).
describe.each(placements)('the Fastify plugin registered %s', (_where, env, paths) => {
	const title = 'drains every server Fastify made: a slow request on ::1 and one on 127.0.0.1 are both answered, then the onClose hooks run, exit 0';
	if (!ipv6) {
		it.skip(`${title} (skipped: this machine has no IPv6 loopback, ::1, so Fastify makes no second server)`, () => {});
		return;
	}
	it(title, async () => {
		const child = startNode(fixture('fastify-plugin-server.mjs'), [], {
			env: { DELAY: '500', ...env },
			execArgv: ['--import', pathToFileURL(fixture('localhost-both-families.mjs')).href],
		});
		const [, portText, addresses, main] = await child.waitFor(/^ready (\d+) (\S+) (\S+)$/);
		const port = Number(portText);
		expect(addresses).toBe('127.0.0.1,::1');
		expect((await get('127.0.0.1', port, paths.readyz)).status).toBe(200);
		expect((await get('::1', port, paths.readyz)).status).toBe(200);
		// The request on the server Fastify added runs longer: fastify.close() waits only for fastify.server's.
		const ms = (address: string) => (address === main ? 1000 : 2500);
		const v6 = get('::1', port, `/slow?ms=${ms('::1')}&id=v6`);
		const v4 = get('127.0.0.1', port, `/slow?ms=${ms('127.0.0.1')}&id=v4`);
		await Promise.all([child.waitFor(/^arrived v6$/), child.waitFor(/^arrived v4$/)]);
		child.process.kill('SIGTERM');
		await child.waitFor(/^shutting down$/);
		// During the delay: not ready, still serving, on both addresses.
		const [ready6, ready4, head, live] = await Promise.all([
			get('::1', port, paths.readyz),
			get('127.0.0.1', port, paths.readyz),
			get('127.0.0.1', port, paths.readyz, 'HEAD'),
			get('::1', port, paths.livez),
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
