import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startNode } from '../helpers/child.js';

const example = (path: string) => fileURLToPath(new URL(`../../examples/${path}`, import.meta.url));

describe('the Express and Koa examples run as they are', () => {
	it.each(['express/server.js', 'koa/server.js'])('%s serves, then drains on SIGTERM with a clean report', async (path) => {
		const child = startNode(example(path), [], { env: { PORT: '0', HOST: '127.0.0.1', DRAIN_DELAY: '100' } });
		const [, url] = await child.waitFor(/^listening on (http:\/\/\S+)$/);
		const response = await fetch(`${url}/`);
		expect(response.status).toBe(200);
		await response.text();
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		const line = child.stdout.find((l) => l.includes('"event":"shutdown"'));
		expect(JSON.parse(line!).report).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });
	});
});

describe('npm run demo', () => {
	it('takes a real server through SIGTERM under load next to a bare server.close(): graceful-proc loses and refuses nothing, the bare server refuses requests', async () => {
		const child = startNode(example('demo.js'));
		const [code, signal] = await child.closed;
		const out = child.stdout.join('\n');
		expect([code, signal], `${out}\n${child.stderr()}`).toEqual([0, null]);
		expect(out).toMatch(/"outcome": "clean"/);
		// The readiness delay at work: the load balancer saw 503 well before the server stopped accepting.
		const graceful = out.slice(out.indexOf('graceful-proc, after SIGTERM:'), out.indexOf('bare server.close(), after SIGTERM:'));
		const at = (pattern: RegExp) => Number(new RegExp(`^\\s+(\\d+) ms  ${pattern.source}`, 'm').exec(graceful)?.[1] ?? NaN);
		const saw503 = at(/load balancer: \/readyz 503/);
		const removed = at(/load balancer: out of rotation/);
		const stoppedAccepting = at(/server: (stops|still) accepting/);
		expect(saw503, graceful).toBeLessThan(stoppedAccepting);
		expect(removed, graceful).toBeLessThan(stoppedAccepting);
		const row = (name: string) => {
			const match = new RegExp(`^\\s+${name}\\s+(\\d+)\\s+(\\d+)$`, 'm').exec(out);
			expect(match, `no row "${name}" in:\n${out}`).not.toBeNull();
			return { graceful: Number(match![1]), bare: Number(match![2]) };
		};
		expect(row('answered').graceful).toBeGreaterThan(0);
		expect(row('of them after SIGTERM').graceful).toBeGreaterThan(0);
		expect(row('lost').graceful).toBe(0);
		expect(row('refused before sending').graceful).toBe(0);
		const bare = row('refused before sending').bare + row('lost').bare;
		expect(bare, 'the bare server.close() should have refused or lost requests').toBeGreaterThan(0);
		expect(out).toMatch(/refused before sending {2}the connection was refused \(ECONNREFUSED\)/);
		expect(out).toMatch(/SIGTERM to exit\s+[\d.]+ s\s+[\d.]+ s/);
	}, 30_000);
});
