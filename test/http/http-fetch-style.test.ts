// Fetch-style apps (a web Request in, a Response out: Hono's app.fetch, `{ fetch }` objects) given to serve() or to a
// node server made by hand and drained: refused at serve() with a coded TypeError that says what to do, or answered
// 500 with one coded warning. Never a request left hanging until the deadline. In-process, with an isolated proc.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { drain, drainSignal, serve } from '../../src/http/index.js';
import { createFakeProcess } from '../../src/testing.js';
import type { Proc } from '../../src/types.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
	for (const fn of cleanup.splice(0)) fn();
});

function isolatedProc(): Proc {
	return createProc({ process: createFakeProcess(), exit: false, logger: false });
}

function honoApp(): Hono {
	const app = new Hono();
	app.get('/', (c) => c.text('hello from hono'));
	return app;
}

/** A GET that fails, instead of hanging, when no answer comes within `ms`. */
function get(port: number, path = '/', ms = 5000): Promise<{ status: number; body: string }> {
	return new Promise((resolve, reject) => {
		const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode!, body }));
		});
		req.setTimeout(ms, () => req.destroy(new Error(`no answer within ${ms} ms: the request hangs`)));
		req.on('error', reject);
	});
}

function listen(server: http.Server): Promise<number> {
	cleanup.push(() => {
		server.closeAllConnections();
		server.close();
	});
	return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function collectWarnings(): Error[] {
	const warnings: Error[] = [];
	const onWarning = (warning: Error) => {
		if ((warning as { code?: string }).code === 'GRACEFUL_PROC_FETCH_HANDLER') warnings.push(warning);
	};
	process.on('warning', onWarning);
	cleanup.push(() => process.off('warning', onWarning));
	return warnings;
}

/** process.emitWarning() is delivered on the next tick. */
const warningsDelivered = () => new Promise((resolve) => setImmediate(resolve));

const listeningServers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;

describe('serve() refuses a fetch-style app when it is called, with a coded TypeError that says what to do', () => {
	const fetchStyle: Array<[string, () => unknown]> = [
		["Hono's app.fetch", () => honoApp().fetch],
		['a Hono app', () => honoApp()],
		['app.fetch bound to its app', () => { const app = honoApp(); return app.fetch.bind(app); }],
		['an object with fetch()', () => ({ fetch: (request: Request) => new Response(request.url) })],
		['a Bun-style { fetch, port } object', () => ({ fetch: () => new Response('bun'), port: 3000 })],
		['an async fetch function', () => async (request: Request) => new Response(request.url)],
		['a fetch function that destructures the request', () => ({ url }: Request) => new Response(url)],
	];
	it.each(fetchStyle)('%s: TypeError GRACEFUL_PROC_FETCH_HANDLER pointing to @hono/node-server and drain(), nothing listening', async (_what, make) => {
		const proc = isolatedProc();
		const before = listeningServers();
		const error = (await serve(make() as never, { port: 0, host: '127.0.0.1', proc }).then(
			() => undefined,
			(reason: unknown) => reason,
		)) as (TypeError & { code?: string }) | undefined;
		expect(error).toBeInstanceOf(TypeError);
		expect(error!.code).toBe('GRACEFUL_PROC_FETCH_HANDLER');
		expect(error!.message).toMatch(/^Expected `app` to be an Express app, a Koa app or a `\(req, res\)` handler, got .*fetch-style/);
		expect(error!.message).toContain('serve it with @hono/node-server (`serve({ fetch: app.fetch, port })` returns a node server to give to drain())');
		expect(listeningServers()).toBe(before);
		expect((await proc.shutdown('test')).listeners).toEqual([]);
	});
});

describe('a fetch-style handler serve() cannot tell apart is answered 500, never left hanging', () => {
	const disguised: Array<[string, (app: Hono) => unknown]> = [
		['(...args) => app.fetch(...args), of no declared parameter', (app) => (...args: unknown[]) => app.fetch(...(args as [Request]))],
		['(request, env) => app.fetch(request, env), of two', (app) => (request: Request, env: unknown) => app.fetch(request, env)],
	];
	it.each(disguised)('%s: 500 for each request, one warning', async (_what, make) => {
		const warnings = collectWarnings();
		const proc = isolatedProc();
		const { server } = await serve(make(honoApp()) as never, { port: 0, host: '127.0.0.1', proc });
		cleanup.push(() => server.close());
		const port = (server.address() as AddressInfo).port;
		expect(await Promise.all([get(port), get(port)])).toEqual(Array(2).fill({ status: 500, body: 'Internal Server Error\n' }));
		await warningsDelivered();
		expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('graceful-proc: the handler given to serve() returned a web Response')]);
		expect((await proc.shutdown('test')).outcome).toBe('clean');
	});
});

describe('a handler that answers node’s response itself keeps it, whatever it returns', () => {
	it('a response it has begun to write is not cut short when it also returns a Response', async () => {
		const proc = isolatedProc();
		const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => {
			res.writeHead(200, { 'content-type': 'text/plain' });
			res.write('part ');
			setTimeout(() => res.end('done'), 50);
			// An adapter that writes node's response and hands back the web Response it wrote from.
			return Promise.resolve(new Response('part done'));
		};
		const { server } = await serve(handler, { port: 0, host: '127.0.0.1', proc });
		cleanup.push(() => server.close());
		expect(await get((server.address() as AddressInfo).port)).toEqual({ status: 200, body: 'part done' });
		await proc.shutdown('test');
	});
});

describe('drain() of a node server made by hand with a fetch-style handler: http.createServer(app.fetch)', () => {
	const handMade: Array<[string, (app: Hono) => http.RequestListener]> = [
		["Hono's app.fetch", (app) => app.fetch as never],
		['an async fetch function', (app) => (async (request: Request) => app.fetch(request)) as never],
	];
	it.each(handMade)('%s: each request answered 500 at once instead of hanging, one warning naming drain()', async (_what, make) => {
		const warnings = collectWarnings();
		const proc = isolatedProc();
		const server = http.createServer(make(honoApp()));
		const port = await listen(server);
		drain(server, { proc });
		expect(await Promise.all([get(port), get(port, '/other')])).toEqual(Array(2).fill({ status: 500, body: 'Internal Server Error\n' }));
		await warningsDelivered();
		expect(warnings.map((w) => w.message)).toEqual([
			expect.stringMatching(/^graceful-proc: the request listener of a server given to drain\(\) returned a web Response.*@hono\/node-server/),
		]);
		expect((await proc.shutdown('test')).outcome).toBe('clean');
	});

	it('also when drain() comes before listen()', async () => {
		const proc = isolatedProc();
		const server = http.createServer(honoApp().fetch as never);
		drain(server, { proc });
		expect(await get(await listen(server))).toEqual({ status: 500, body: 'Internal Server Error\n' });
		expect((await proc.shutdown('test')).outcome).toBe('clean');
	});

	it('keeps the listener the application gave: server.listeners() shows it, and removeListener() removes it', async () => {
		const proc = isolatedProc();
		const { fetch } = honoApp();
		const server = http.createServer(fetch as never);
		await listen(server);
		drain(server, { proc });
		expect(server.listeners('request')).toContain(fetch);
		const before = server.listenerCount('request');
		expect(server.removeListener('request', fetch as never).listenerCount('request')).toBe(before - 1);
		await proc.shutdown('test');
	});

	it('leaves node handlers as they are: of two parameters, or one beside others (a logger of one parameter)', async () => {
		const proc = isolatedProc();
		const node = (_req: http.IncomingMessage, res: http.ServerResponse) => void res.end('node');
		const logged: string[] = [];
		const logger = (req: http.IncomingMessage) => void logged.push(req.url!);
		const one = http.createServer(node);
		const two = http.createServer(node).on('request', logger);
		const raw = [one.rawListeners('request'), two.rawListeners('request')];
		const ports = [await listen(one), await listen(two)];
		drain(one, { proc });
		drain(two, { proc });
		// The drain's own listener comes first; the application's are the same functions, in the same order.
		expect([one.rawListeners('request').slice(1), two.rawListeners('request').slice(1)]).toEqual(raw);
		expect(await Promise.all(ports.map((port) => get(port, '/x')))).toEqual([
			{ status: 200, body: 'node' },
			{ status: 200, body: 'node' },
		]);
		expect(logged).toEqual(['/x']);
		expect((await proc.shutdown('test')).outcome).toBe('clean');
	});
});

describe('drainSignal() given the web Request of a fetch-style app says where the node request is', () => {
	it("Hono's c.req.raw under @hono/node-server: a TypeError pointing to c.env.incoming, which works", async () => {
		const proc = isolatedProc();
		const app = new Hono<{ Bindings: { incoming: http.IncomingMessage } }>();
		const seen: string[] = [];
		app.get('/', (c) => {
			try {
				drainSignal(c.req.raw as never);
			} catch (error) {
				seen.push((error as Error).message);
			}
			seen.push(`incoming: ${drainSignal(c.env.incoming).aborted}`);
			return c.text('ok');
		});
		const server = createAdaptorServer({ fetch: app.fetch }) as http.Server;
		expect(await get(await listen(server))).toEqual({ status: 200, body: 'ok' });
		expect(seen).toEqual([
			expect.stringMatching(/^Expected `req` to be a server request .*, got `\[[\w$]+\]` \(object\): a web Request, as Hono's `c.req.raw` is; under @hono\/node-server the node request is `c.env.incoming`$/),
			'incoming: false',
		]);
		await proc.shutdown('test');
	});
});
