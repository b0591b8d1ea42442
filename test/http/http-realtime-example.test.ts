// examples/realtime/server.js run as users run it (`node examples/realtime/server.js`), with real clients.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startNode } from '../helpers/child.js';
import { openSse, openWs } from '../helpers/realtime-clients.js';

const example = fileURLToPath(new URL('../../examples/realtime/server.js', import.meta.url));

describe('the realtime example (Express, SSE, ws) runs as it is', () => {
	it('serves its page and streams, then on SIGTERM ends every stream over the spread, with a clean report', async () => {
		const spread = 1000;
		const child = startNode(example, [], { env: { PORT: '0', HOST: '127.0.0.1', DRAIN_DELAY: '100', DRAIN_SPREAD: String(spread) } });
		const [, url] = await child.waitFor(/^listening on (http:\/\/\S+)$/);
		const port = Number(new URL(url!).port);
		const page = await fetch(`${url}/`);
		expect(page.status).toBe(200);
		expect(await page.text()).toMatch(/EventSource/);
		const ws = await Promise.all(Array.from({ length: 4 }, () => openWs(port)));
		const sse = await Promise.all(Array.from({ length: 4 }, () => openSse(port)));

		const sigtermAt = performance.now();
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		for (const client of ws) expect(await client.closed).toMatchObject({ code: 1001, reason: 'going away' });
		for (const client of sse) {
			const end = await client.ended;
			expect(end.clean).toBe(true);
			expect(end.events.at(-1)).toBe('bye');
		}
		const last = Math.max(...(await Promise.all([...ws.map((c) => c.closed), ...sse.map((c) => c.ended)])).map((e) => e.at));
		// After the 100 ms delay, the 8th of 8 is told no earlier than 7/8 of the spread.
		expect(last - sigtermAt).toBeGreaterThanOrEqual(100 + (7 * spread) / 8);
		const line = child.stdout.find((l) => l.includes('"event":"shutdown"'));
		expect(JSON.parse(line!).report).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });
	});
});
