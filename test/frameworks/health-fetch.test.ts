// health.fetch (a web Request in, a Response out, for Hono, Bun.serve and Deno.serve) answers exactly as
// health.handler does on a node server: the same status, headers and body for every probe, method, query string and
// unknown path, in every state of the ticker. The node handler is served by a real http server on 127.0.0.1.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealthTicker, type HealthTicker } from '../../src/health/index.js';
import { createProc } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { controllableCheck } from '../helpers/health.js';

interface Answer {
	status: number;
	headers: Record<string, string | undefined>;
	body: string;
}

/** The headers the probe answers set: the rest (Date, Connection) are the server's, not the handler's. */
const HEADERS = ['content-type', 'cache-control', 'content-length', 'allow'];

let server: http.Server;
let port: number;
/** The ticker the node server answers for, swapped per state. */
let current: HealthTicker;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

beforeAll(async () => {
	server = http.createServer((req, res) => current.handler(req, res));
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	port = (server.address() as AddressInfo).port;
});
afterAll(() => {
	agent.destroy();
	server.close();
});

function viaNode(method: string, path: string): Promise<Answer> {
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
			let body = '';
			res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode!, headers: Object.fromEntries(HEADERS.map((h) => [h, res.headers[h] as string | undefined])), body }));
		});
		req.on('error', reject);
		req.end();
	});
}

async function viaFetch(ticker: HealthTicker, method: string, path: string): Promise<Answer> {
	const response = ticker.fetch(new Request(`http://app.local${path}`, { method }));
	return {
		status: response.status,
		headers: Object.fromEntries(HEADERS.map((h) => [h, response.headers.get(h) ?? undefined])),
		body: await response.text(),
	};
}

const METHODS = ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'];
const PATHS = [
	'/livez',
	'/readyz',
	'/healthz',
	'/livez/',
	'/readyz/',
	'/healthz/',
	'/readyz?verbose',
	'/readyz?verbose=1',
	'/readyz?verbose=true',
	'/healthz?verbose=0',
	'/livez?verbose=yes',
	'/readyz?',
	'/readyz?x=1&verbose',
	'/healthz?password=hunter2',
	'/',
	'/metrics',
	'/readyzz',
	'/live',
	'/readyz.json',
];

type State = [string, () => Promise<{ ticker: HealthTicker; done?: () => Promise<void> }>];

function ticker(checks: Record<string, (signal: AbortSignal) => unknown>, options: { proc?: ReturnType<typeof createProc> | false } = {}) {
	return createHealthTicker({ checks, interval: 60_000, proc: options.proc ?? false });
}

const states: State[] = [
	['starting (no round finished yet)', async () => {
		const slow = controllableCheck();
		const t = ticker({ slow: slow.check });
		return { ticker: t, done: async () => void (await t.stop()) };
	}],
	['ready', async () => {
		const t = ticker({ db: () => true, cache: () => true });
		await t.check();
		return { ticker: t, done: () => t.stop() };
	}],
	['a check failing, with credentials in its error', async () => {
		const t = ticker({
			db: () => {
				throw new Error('connect ECONNREFUSED postgres://app:s3cret@db:5432/app?password=hunter2');
			},
			cache: () => true,
		});
		await t.check();
		return { ticker: t, done: () => t.stop() };
	}],
	['set not ready', async () => {
		const t = ticker({ db: () => true });
		await t.check();
		t.setReady(false);
		return { ticker: t, done: () => t.stop() };
	}],
	['shutting down (a drain still running)', async () => {
		const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
		let release!: () => void;
		const held = new Promise<void>((resolve) => (release = resolve));
		proc.addWrapUpListener(() => held, { name: 'drain' });
		const t = ticker({ db: () => true }, { proc });
		await t.check();
		const report = proc.shutdown('test');
		return {
			ticker: t,
			done: async () => {
				release();
				await report;
			},
		};
	}],
	['stopped', async () => {
		const t = ticker({ db: () => true });
		await t.check();
		await t.stop();
		return { ticker: t };
	}],
];

describe.each(states)('health.fetch answers as health.handler does: %s', (_state, setUp) => {
	it('the same status, headers and body for every probe, method, query string and other path', async () => {
		const { ticker: t, done } = await setUp();
		current = t;
		try {
			const differences: string[] = [];
			let compared = 0;
			for (const method of METHODS) {
				for (const path of PATHS) {
					const [node, web] = await Promise.all([viaNode(method, path), viaFetch(t, method, path)]);
					compared += 1;
					if (JSON.stringify(node) !== JSON.stringify(web)) differences.push(`${method} ${path}\n  node:  ${JSON.stringify(node)}\n  fetch: ${JSON.stringify(web)}`);
				}
			}
			expect(differences.join('\n')).toBe('');
			expect(compared).toBe(METHODS.length * PATHS.length);
			// Not a comparison of two empty answers: the probes say something in this state.
			const ready = await viaFetch(t, 'GET', '/readyz');
			expect(ready.body).toMatch(/^\{"status":"(ok|fail)"/);
			expect(JSON.stringify(await viaFetch(t, 'GET', '/readyz?verbose'))).not.toContain('s3cret');
		} finally {
			await done?.();
		}
	});
});

describe('where health.fetch and health.handler differ, as documented', () => {
	it('health.fetch names the probe by the last segment of the path (it is routed with the whole URL); the node handler by the path Express or Koa left', async () => {
		const t = ticker({ db: () => true });
		await t.check();
		current = t;
		try {
			for (const path of ['/health/readyz', '/api/v1/livez/']) {
				expect((await viaFetch(t, 'GET', path)).status, path).toBe(200);
				expect((await viaNode('GET', path)).status, path).toBe(404);
			}
		} finally {
			await t.stop();
		}
	});
});
