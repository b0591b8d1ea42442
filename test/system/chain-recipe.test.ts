// docs/core.md's chain (serve() + a tracked consumer + a pool + a buffering logger, ordered with `after`), run as
// printed in a real child process: a slow request and a job in flight at a real SIGTERM. The order is read from
// the times the child prints; nothing it answered or logged may be lost, and it exits 0.
import { rmSync } from 'node:fs';
import http from 'node:http';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNode } from '../helpers/child.js';
import { writeDocBlock } from '../helpers/doc-block.js';

const script = writeDocBlock('docs/core.md', "addShutdownListener(() => logger.flush(), { name: 'logger', after: [db] })", 'chain', (code) =>
	// Any free port: several runs side by side.
	code.replace('port: 3000', 'port: 0'),
);
afterAll(() => rmSync(dirname(script), { recursive: true, force: true }));

function request(url: string, method: string): Promise<{ status: number; body: string }> {
	return new Promise((resolve, reject) => {
		const req = http.request(url, { method, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
		});
		req.on('error', reject);
		req.end();
	});
}

describe("docs/core.md's chain: serve() + consumer + pool + logger with `after`", () => {
	it('with a request and a job in flight at SIGTERM: the order holds, nothing is lost, exit 0', async () => {
		const child = startNode(script);
		try {
			const [, url] = (await child.waitFor(/^serving (http:\S+)/, 20_000)) as RegExpMatchArray;
			// The job is taken in the tick it is queued, before the POST is answered.
			expect(await request(new URL('/jobs?ms=1500', url).href, 'POST')).toEqual({ status: 200, body: 'ok\n' });
			const slow = request(new URL('/report?ms=800', url).href, 'GET');
			// The slow request is in flight at SIGTERM (and were it read a moment later, the drain's 300 ms delay serves it).
			expect((await request(new URL('/ping', url).href, 'GET')).status).toBe(200);
			child.process.kill('SIGTERM');
			expect(await slow).toEqual({ status: 200, body: 'ok\n' });
			const [code, signal] = await child.closed;
			expect(child.stderr()).toBe('');
			expect([code, signal]).toEqual([0, null]);

			const at = new Map<string, number>();
			for (const line of child.stdout) {
				const match = /^(\d+) ms (.+)$/.exec(line);
				if (match) at.set(match[2]!, Number(match[1]));
			}
			const events = ['POST /jobs answered', 'GET /ping answered', 'GET /report answered', 'job 1 done', 'consumer closed', 'pool closed'];
			for (const event of events) expect(at.has(event), `${event} in ${child.stdout.join('\n')}`).toBe(true);
			expect(child.stdout.some((line) => /failed|closed:/.test(line))).toBe(false);
			const t = (event: string) => at.get(event)!;
			// The wrap-up phase (the drain and the job) before the consumer; then the pool; the logger flushed all of it.
			expect(t('job 1 done') - t('POST /jobs answered')).toBeGreaterThanOrEqual(1500);
			expect(t('consumer closed')).toBeGreaterThanOrEqual(Math.max(t('GET /report answered'), t('job 1 done')));
			// The pool takes 20 ms to close, from when the consumer's close settled: run together, the two lines would be
			// about 0 ms apart. Not 20 at least: node's timer counts from the event loop's clock, read when the turn
			// began, and the consumer's line was timed later in that turn (19 ms apart in one run).
			expect(t('pool closed')).toBeGreaterThanOrEqual(t('consumer closed') + 10);
		} finally {
			child.process.kill('SIGKILL');
		}
	});
});
