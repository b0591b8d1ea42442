import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startNode } from './helpers/child.js';

const example = (path: string) => fileURLToPath(new URL(`../examples/${path}`, import.meta.url));

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
	it('takes a real server through SIGTERM under load, loses nothing and prints the report', async () => {
		const child = startNode(example('demo.js'));
		expect(await child.closed).toEqual([0, null]);
		const out = child.stdout.join('\n');
		expect(out).toMatch(/"outcome": "clean"/);
		expect(out).toMatch(/^\s+answered\s+[1-9]\d*$/m);
		expect(out).toMatch(/^\s+lost\s+0$/m);
		expect(out).toMatch(/SIGTERM to exit: \d+ ms \(exit 0\)/);
	});
});
