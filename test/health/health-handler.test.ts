import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthTicker, type HealthTicker } from '../../src/health/index.js';
import { controllableCheck, tickerJar } from '../helpers/health.js';

interface Answer {
	status: number;
	headers: IncomingHttpHeaders;
	body: string;
}

function request(url: string, method = 'GET'): Promise<Answer> {
	return new Promise((resolve, reject) => {
		const req = httpRequest(url, { method, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
		});
		req.setTimeout(5000, () => req.destroy(new Error(`no answer from ${url}`)));
		req.on('error', reject);
		req.end();
	});
}

function listen(server: Server): Promise<string> {
	return new Promise((resolve) => {
		server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
	});
}

function closer(server: Server) {
	return () =>
		new Promise<void>((resolve) => {
			server.close(() => resolve());
			server.closeAllConnections();
		});
}

interface Mounted {
	/** Where `/livez` & co. are served. */
	base: string;
	/** A route of the app itself (from the server's root), when the handler is mounted as middleware. */
	app?: { path: string; body: string };
	/** Routed with app.get(): other methods never reach the handler. */
	getOnly?: boolean;
	close(): Promise<void>;
}

/** The same suite runs against each way of serving the handler. */
const servers: Array<[string, (ticker: HealthTicker) => Promise<Mounted>]> = [
	[
		'plain http.createServer(handler)',
		async (ticker) => {
			const server = createServer(ticker.handler);
			return { base: await listen(server), close: closer(server) };
		},
	],
	[
		'ticker.listen(0)',
		async (ticker) => {
			const { server, url } = await ticker.listen(0, '127.0.0.1');
			return { base: url, close: closer(server) };
		},
	],
	[
		'Express app.use(handler) at the root',
		async (ticker) => {
			const app = express();
			app.use(ticker.handler);
			app.get('/hello', (_req, res) => {
				res.send('hello from the app');
			});
			const server = app.listen(0, '127.0.0.1');
			await new Promise((resolve) => server.once('listening', resolve));
			const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
			return { base: root, app: { path: `${root}/hello`, body: 'hello from the app' }, close: closer(server) };
		},
	],
	[
		"Express app.use('/health', handler) at a sub-path",
		async (ticker) => {
			const app = express();
			app.use('/health', ticker.handler);
			app.get('/livez', (_req, res) => {
				res.send("the app's own /livez, not the mounted one");
			});
			const server = app.listen(0, '127.0.0.1');
			await new Promise((resolve) => server.once('listening', resolve));
			const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
			return { base: `${root}/health`, app: { path: `${root}/livez`, body: "the app's own /livez, not the mounted one" }, close: closer(server) };
		},
	],
	[
		'Express app.get(path, handler) per route',
		async (ticker) => {
			const app = express();
			app.get(['/livez', '/readyz', '/healthz'], ticker.handler);
			const server = app.listen(0, '127.0.0.1');
			await new Promise((resolve) => server.once('listening', resolve));
			return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, getOnly: true, close: closer(server) };
		},
	],
	[
		'Koa with ctx.respond = false for the probe paths',
		async (ticker) => {
			const app = new Koa();
			app.use(async (ctx, next) => {
				if (ctx.path !== '/livez' && ctx.path !== '/readyz' && ctx.path !== '/healthz') return next();
				ctx.respond = false;
				ticker.handler(ctx.req, ctx.res);
			});
			app.use((ctx) => {
				if (ctx.path === '/hello') ctx.body = 'hello from the app';
			});
			const server = createServer(app.callback());
			const root = await listen(server);
			return { base: root, app: { path: `${root}/hello`, body: 'hello from the app' }, close: closer(server) };
		},
	],
	[
		'Koa calling handler(ctx.req, ctx.res) for every path',
		async (ticker) => {
			const app = new Koa();
			app.use((ctx) => {
				ctx.respond = false;
				ticker.handler(ctx.req, ctx.res);
			});
			const server = createServer(app.callback());
			return { base: await listen(server), close: closer(server) };
		},
	],
	[
		'health.fetch as the whole fetch handler of a server',
		async (ticker) => {
			const server = createAdaptorServer({ fetch: ticker.fetch }) as Server;
			return { base: await listen(server), close: closer(server) };
		},
	],
	[
		'Hono app.get(path, (c) => health.fetch(c.req.raw)) per route',
		async (ticker) => {
			const app = new Hono();
			for (const path of ['/livez', '/readyz', '/healthz']) app.get(path, (c) => ticker.fetch(c.req.raw));
			const server = createAdaptorServer({ fetch: app.fetch }) as Server;
			return { base: await listen(server), getOnly: true, close: closer(server) };
		},
	],
	[
		"Hono app.all('/health/*', (c) => health.fetch(c.req.raw)) at a sub-path",
		async (ticker) => {
			const app = new Hono();
			app.all('/health/*', (c) => ticker.fetch(c.req.raw));
			app.get('/livez', (c) => c.text("the app's own /livez, not the mounted one"));
			const server = createAdaptorServer({ fetch: app.fetch }) as Server;
			const root = await listen(server);
			return { base: `${root}/health`, app: { path: `${root}/livez`, body: "the app's own /livez, not the mounted one" }, close: closer(server) };
		},
	],
];

const jar = tickerJar();
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
	await Promise.all(closers.splice(0).map((close) => close()));
	await jar.stopAll();
});

async function setUp(
	mount: (ticker: HealthTicker) => Promise<Mounted>,
	checks?: Record<string, (signal: AbortSignal) => unknown>,
	firstRound = true,
) {
	const state = { dbError: undefined as Error | undefined, calls: 0 };
	const ticker = jar.track(
		createHealthTicker({
			checks: checks ?? {
				db: () => {
					state.calls += 1;
					if (state.dbError) throw state.dbError;
				},
				cache: () => true,
			},
			// Long enough that only check() runs rounds in these tests.
			interval: 60_000,
			proc: false,
		}),
	);
	if (firstRound) await ticker.check();
	const mounted = await mount(ticker);
	closers.push(mounted.close);
	return { ticker, state, ...mounted };
}

describe.each(servers)('the handler serves the probes: %s', (_, mount) => {
	it('answers 200 {"status":"ok"} on /livez, /readyz and /healthz, as JSON that is never cached', async () => {
		const { base } = await setUp(mount);
		for (const path of ['/livez', '/readyz', '/healthz']) {
			const answer = await request(`${base}${path}`);
			expect(answer.status, path).toBe(200);
			expect(JSON.parse(answer.body)).toEqual({ status: 'ok' });
			expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
			expect(answer.headers['cache-control']).toBe('no-store');
			expect(answer.headers['content-length']).toBe(String(answer.body.length));
		}
	});

	it('answers from the cache: probes never run the checks', async () => {
		const { base, state } = await setUp(mount);
		const before = state.calls;
		await Promise.all(Array.from({ length: 20 }, (_, i) => request(`${base}${['/livez', '/readyz', '/healthz'][i % 3]}`)));
		expect(state.calls).toBe(before);
	});

	it('answers 503 on /readyz and /healthz when a check fails, naming the check without its error; /livez stays 200', async () => {
		const { base, state, ticker } = await setUp(mount);
		const error = new Error('connect ECONNREFUSED 10.1.2.3:5432');
		state.dbError = error;
		await ticker.check();
		const ready = await request(`${base}/readyz`);
		expect(ready.status).toBe(503);
		expect(JSON.parse(ready.body)).toEqual({ status: 'fail', reason: 'failing: db' });
		const health = await request(`${base}/healthz`);
		expect(health.status).toBe(503);
		expect(JSON.parse(health.body)).toEqual({ status: 'fail', reason: 'failing: db' });
		expect((await request(`${base}/livez`)).status).toBe(200);
		expect(error.stack).toContain('    at ');
		for (const answer of [ready, health]) expect(answer.body).not.toContain('ECONNREFUSED');
	});

	it('lists every check with ?verbose, errors as messages and never as stack traces', async () => {
		const { base, state, ticker } = await setUp(mount);
		state.dbError = new Error('connect ECONNREFUSED 10.1.2.3:5432');
		await ticker.check();
		const answer = await request(`${base}/readyz?verbose`);
		expect(answer.status).toBe(503);
		const body = JSON.parse(answer.body);
		expect(body).toMatchObject({
			status: 'fail',
			reason: 'failing: db',
			started: true,
			live: true,
			ready: false,
			checks: {
				db: { ok: false, error: 'connect ECONNREFUSED 10.1.2.3:5432' },
				cache: { ok: true },
			},
		});
		expect(typeof body.checks.db.latencyMs).toBe('number');
		expect(typeof body.checks.db.at).toBe('number');
		expect(answer.body).not.toMatch(/\s+at\s|\\n/);
		// Only ?verbose, ?verbose=1 and ?verbose=true turn it on; anything else is the short answer.
		for (const query of ['verbose=0', 'verbose=no', 'verbose=FALSE', 'verbose=false', 'verbose=off', 'verbose=yes', 'verbosity']) {
			expect(JSON.parse((await request(`${base}/readyz?${query}`)).body), query).toEqual({ status: 'fail', reason: 'failing: db' });
		}
		for (const query of ['verbose', 'verbose=', 'verbose=1', 'verbose=true']) {
			expect(JSON.parse((await request(`${base}/readyz?${query}`)).body), query).toMatchObject({ checks: { db: { ok: false } } });
		}
		expect(JSON.parse((await request(`${base}/livez?verbose=1`)).body)).toMatchObject({ status: 'ok', checks: { cache: { ok: true } } });
	});

	it('never shows credentials from a check\'s error, in ?verbose bodies either', async () => {
		const { base, state, ticker } = await setUp(mount);
		const secrets = ['s3cret', 'hunter2', 'tok-123', 'k3y', 'jsonpass'];
		state.dbError = new Error(
			'connect ECONNREFUSED postgres://app:s3cret@db:5432/app?password=hunter2&token=tok-123 apikey=k3y {"password":"jsonpass"}',
		);
		await ticker.check();
		for (const path of ['/readyz?verbose', '/healthz?verbose=1', '/livez?verbose=true', '/readyz']) {
			const answer = await request(`${base}${path}`);
			for (const secret of secrets) expect(answer.body, path).not.toContain(secret);
		}
		const { body } = await request(`${base}/readyz?verbose`);
		expect(JSON.parse(body).checks.db.error).toBe(
			'connect ECONNREFUSED postgres://***@db:5432/app?password=***&token=*** apikey=*** {"password":"***"}',
		);
		for (const secret of secrets) expect(JSON.stringify(ticker.status())).not.toContain(secret);
	});

	it('answers 405 to other methods on the probe paths', async () => {
		const { base, getOnly } = await setUp(mount);
		const answer = await request(`${base}/readyz`, 'POST');
		if (getOnly) {
			// Express's app.get() routes GET and HEAD only: a POST never reaches the handler.
			expect(answer.status).toBe(404);
		} else {
			expect(answer.status).toBe(405);
			expect(answer.headers.allow).toBe('GET, HEAD');
		}
	});

	it('answers HEAD with the status and headers and no body', async () => {
		const { base, state, ticker } = await setUp(mount);
		const get = await request(`${base}/readyz`);
		const head = await request(`${base}/readyz`, 'HEAD');
		expect(head.status).toBe(200);
		expect(head.body).toBe('');
		expect(head.headers['content-length']).toBe(String(get.body.length));
		expect(head.headers['cache-control']).toBe('no-store');
		state.dbError = new Error('down');
		await ticker.check();
		expect((await request(`${base}/readyz`, 'HEAD')).status).toBe(503);
	});

	it('answers 503 {"reason":"starting"} until the first good round, while /livez is 200', async () => {
		const slow = controllableCheck();
		const { base, ticker } = await setUp(mount, { slow: slow.check }, false);
		const ready = await request(`${base}/readyz`);
		expect(ready.status).toBe(503);
		expect(JSON.parse(ready.body)).toEqual({ status: 'fail', reason: 'starting' });
		expect((await request(`${base}/healthz`)).status).toBe(503);
		expect((await request(`${base}/livez`)).status).toBe(200);
		slow.pass();
		await ticker.check();
		expect((await request(`${base}/readyz`)).status).toBe(200);
	});

	it('answers 404 for other paths (or leaves them to the app when mounted as middleware)', async () => {
		const { base, app } = await setUp(mount);
		const other = await request(`${base}/metrics`);
		expect(other.status).toBe(404);
		if (app) {
			const answer = await request(app.path);
			expect(answer.status).toBe(200);
			expect(answer.body).toBe(app.body);
		}
	});

	it('answers 503 {"reason":"set not ready"} on /readyz after setReady(false), while /healthz stays 200', async () => {
		const { base, ticker } = await setUp(mount);
		ticker.setReady(false);
		const ready = await request(`${base}/readyz`);
		expect(ready.status).toBe(503);
		expect(JSON.parse(ready.body)).toEqual({ status: 'fail', reason: 'set not ready' });
		expect((await request(`${base}/healthz`)).status).toBe(200);
		ticker.setReady(true);
		expect((await request(`${base}/readyz`)).status).toBe(200);
	});
});

describe('health.fetch(request) answers the probes with a web Response', () => {
	it('answers in-process, without a server, by the last segment of the path', async () => {
		const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 60_000, proc: false }));
		const answer = ticker.fetch(new Request('http://app.local/readyz'));
		expect(answer).toBeInstanceOf(Response);
		expect(answer.status).toBe(503);
		expect(await answer.json()).toEqual({ status: 'fail', reason: 'starting' });
		await ticker.check();
		expect(ticker.fetch(new Request('http://app.local/api/v1/health/readyz/')).status).toBe(200);
		expect(ticker.fetch(new Request('http://app.local/readyz-not')).status).toBe(404);
		expect(ticker.fetch(new Request('http://app.local/')).status).toBe(404);
	});

	it('refuses what is not a Request with a TypeError naming the argument and the value', () => {
		const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 60_000, proc: false }));
		expect(() => ticker.fetch('/readyz' as never)).toThrow(
			new TypeError('Expected `request` to be a web Request (what Hono’s `c.req.raw`, Bun.serve and Deno.serve give), got `"/readyz"` (string)'),
		);
		expect(() => ticker.fetch(null as never)).toThrow(TypeError);
	});
});

describe('listen(port, host?) serves the probes on a port of their own', () => {
	it('resolves to the server and its URL, and closes it when the ticker stops', async () => {
		const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 60_000, proc: false }));
		await ticker.check();
		const { server, url } = await ticker.listen(0, '127.0.0.1');
		expect(url).toBe(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
		expect((await request(`${url}/readyz`)).status).toBe(200);
		await ticker.stop();
		expect(server.listening).toBe(false);
		await expect(request(`${url}/readyz`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
	});

	it('names localhost in the URL when listening on every interface', async () => {
		const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 60_000, proc: false }));
		const { server, url } = await ticker.listen(0);
		expect(url).toBe(`http://localhost:${(server.address() as AddressInfo).port}`);
	});

	it('rejects when the port is taken, and after stop()', async () => {
		const ticker = jar.track(createHealthTicker({ checks: { a: () => true }, interval: 60_000, proc: false }));
		const { server } = await ticker.listen(0, '127.0.0.1');
		const port = (server.address() as AddressInfo).port;
		await expect(ticker.listen(port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
		await ticker.stop();
		await expect(ticker.listen(0, '127.0.0.1')).rejects.toThrow('the health ticker is stopped');
	});
});
