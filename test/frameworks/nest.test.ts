import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Child, fixture, reportOf, startNode } from '../helpers/child.js';

interface Answer {
	status: number;
	connection: string | undefined;
	body: string;
}

function get(host: string, port: number, path: string): Promise<Answer> {
	return new Promise((resolve, reject) => {
		const req = http.request({ host, port, path, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
			res.on('error', reject);
		});
		req.on('error', reject);
		req.end();
	});
}

type Platform = 'express' | 'fastify';
type Hooks = 'none' | 'before' | 'after' | 'first' | 'by-hand';

const DELAY = 1500;
const SLOW_MS = 2000;

/** The child's `<name> <t> ...` lines: performance.now() in the child, comparable with each other. */
function times(child: Child, pattern: RegExp): number[] {
	return child.stdout.flatMap((line) => {
		const match = line.match(pattern);
		return match ? [Number(match[1])] : [];
	});
}

/**
 * test/fixtures/nest-server.mjs on `platform`, with app.enableShutdownHooks() where `hooks` says: a slow request in
 * flight on every address the app listens on, a real SIGTERM, the probes asked during the delay.
 */
async function stopWithRequestsInFlight(platform: Platform, hooks: Hooks) {
	const child = startNode(fixture('nest-server.mjs'), [], {
		env: { PLATFORM: platform, HOOKS: hooks, DELAY: String(DELAY), DEBUG: 'graceful-proc:nest' },
		execArgv: ['--import', pathToFileURL(fixture('localhost-both-families.mjs')).href],
	});
	const [, portText, addresses] = await child.waitFor(/^ready (\d+) (\S+)$/, 30_000);
	const port = Number(portText);
	const hosts = platform === 'fastify' ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
	expect(addresses).toBe(hosts.join(','));
	const id = (host: string) => (host === '::1' ? 'v6' : 'v4');
	for (const host of hosts) expect((await get(host, port, '/readyz')).status).toBe(200);
	const slow = hosts.map((host) => get(host, port, `/slow?ms=${SLOW_MS}&id=${id(host)}`));
	await Promise.all(hosts.map((host) => child.waitFor(new RegExp(`^arrived ${id(host)}$`))));
	child.process.kill('SIGTERM');
	await child.waitFor(/^shutting down /);
	// A refused probe is an answer too (status 0): Nest's own handler, where it runs, closes the server at once.
	const probe = (host: string, path: string) => get(host, port, path).catch((error: NodeJS.ErrnoException) => ({ status: 0, connection: undefined, body: String(error.code) }));
	const during = await Promise.all([...hosts.map((host) => probe(host, '/readyz')), probe(hosts.at(-1)!, '/livez')]);
	return { child, port, hosts, id, slow, during };
}

describe('graceful-proc/nest: gracefulNest(app, { delay, health }) with the real NestJS 12', () => {
	const cases: Array<[Platform, Hooks]> = [
		['express', 'none'],
		['express', 'before'],
		['express', 'after'],
		['fastify', 'none'],
		['fastify', 'before'],
		['fastify', 'after'],
	];
	it.each(cases)(
		'on %s, enableShutdownHooks() %s: /readyz 503 during the delay, every slow request answered, then the provider hooks with the signal, exit 0',
		async (platform, hooks) => {
			const { child, port, hosts, id, slow, during } = await stopWithRequestsInFlight(platform, hooks);
			// During the delay: not ready, still serving, on every address.
			const live = during.pop()!;
			for (const ready of during) expect([ready.status, ready.body]).toEqual([503, '{"status":"fail","reason":"shutting down"}']);
			expect(live.status).toBe(200);
			for (const [index, host] of hosts.entries()) {
				expect(await slow[index]).toEqual({ status: 200, connection: 'close', body: `ok ${id(host)}` });
			}
			expect(await child.closed, child.stderr()).toEqual([0, null]);

			// Nest's hooks ran after the last response, in Nest's order, and got the signal.
			const answered = times(child, /^answered v[46] (\S+)$/);
			expect(answered).toHaveLength(hosts.length);
			const destroy = times(child, /^hook onModuleDestroy (\S+)$/);
			const before = times(child, /^hook beforeApplicationShutdown (\S+) SIGTERM$/);
			const shutdown = times(child, /^hook onApplicationShutdown (\S+) SIGTERM$/);
			expect([destroy.length, before.length, shutdown.length], child.stdout.join('\n')).toEqual([1, 1, 1]);
			expect(destroy[0]!).toBeGreaterThan(Math.max(...answered));
			expect(before[0]!).toBeGreaterThanOrEqual(destroy[0]!);
			expect(shutdown[0]!).toBeGreaterThanOrEqual(before[0]!);

			const report = reportOf(child);
			expect(report).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });
			expect(report.listeners.map((l: { name: string; phase: string; outcome: string }) => `${l.phase} ${l.name} ${l.outcome}`).sort()).toEqual([
				'shutdown health ok',
				'shutdown nest ok',
				...hosts.map((host) => `wrap-up http ${host === '::1' ? '[::1]' : host}:${port} ok`),
			]);
			// Nest's handlers were taken off SIGTERM and SIGINT: nothing else ran on the signal.
			expect(report.foreignHandlers).toBeUndefined();
			const stderr = child.stderr();
			expect(stderr).not.toMatch(/Warning|GRACEFUL_PROC_/);
			if (hooks === 'none') expect(stderr).toBe('');
			else expect(stderr).toMatch(/graceful-proc:nest took over Nest's enableShutdownHooks\(\) handler on SIGINT, SIGTERM: .*Nest's handler stays on SIGHUP, /);
		},
	);

	it('enableShutdownHooks() before anything else is registered with graceful-proc: named once when the ticker installs the handlers, then taken over all the same', async () => {
		const { child, hosts, slow, during } = await stopWithRequestsInFlight('express', 'first');
		expect(during.map((answer) => answer.status)).toEqual([503, 200]);
		expect((await slow[0])?.status).toBe(200);
		expect(await child.closed, child.stderr()).toEqual([0, null]);
		expect(hosts).toEqual(['127.0.0.1']);
		const stderr = child.stderr();
		expect(stderr.match(/\[GRACEFUL_PROC_FOREIGN_HANDLER\]/g)).toHaveLength(1);
		expect(stderr).toMatch(/`cleanup` \(SIGTERM, SIGINT\)/);
		expect(stderr).toMatch(/took over Nest's enableShutdownHooks\(\) handler on SIGINT, SIGTERM/);
		expect(Math.min(...times(child, /^hook \w+ (\S+)/))).toBeGreaterThan(Math.max(...times(child, /^answered v4 (\S+)$/)));
		const report = reportOf(child);
		expect(report).toMatchObject({ outcome: 'clean', exitCode: 0 });
		expect(report.foreignHandlers).toBeUndefined();
	});

	it("without gracefulNest, Nest's own enableShutdownHooks() beside a drain by hand is named in a coded warning and in the report: it runs the hooks at once, before the response", async () => {
		const { child, slow } = await stopWithRequestsInFlight('express', 'by-hand');
		expect((await slow[0])?.status).toBe(200);
		await child.closed;
		const stderr = child.stderr();
		expect(stderr).toContain('[GRACEFUL_PROC_FOREIGN_HANDLER]');
		expect(stderr).toMatch(/`cleanup` \(SIGTERM, SIGINT\)/);
		expect(reportOf(child).foreignHandlers).toEqual([{ name: 'cleanup', signals: ['SIGTERM', 'SIGINT'] }]);
		// The race gracefulNest takes away: Nest's handler destroyed the modules while the request still ran.
		expect(times(child, /^hook onModuleDestroy (\S+)$/)[0]!).toBeLessThan(times(child, /^answered v4 (\S+)$/)[0]!);
	});
});
