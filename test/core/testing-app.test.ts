// The README's Express recipe, tested as it is printed with the testing kit: read from README.md at test time (as
// the samples harness reads it), loaded under useFakeProcess(), and stopped by the fake's SIGTERM with a request in
// flight. If the recipe changes in a way the kit cannot handle, this fails. Runs against the build (the recipe
// imports `graceful-proc/http`), with one real server on 127.0.0.1.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { useFakeProcess, useRealProcess } from 'graceful-proc/testing';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { extractSamples, repoRoot, sampleSource } from '../helpers/samples.js';

const recipe = extractSamples('README.md').find((sample) => sample.name === 'express');
// Inside the repository, so that `graceful-proc` and `express` resolve as in a user's project.
const dir = join(repoRoot, 'test', '.tmp', `testing-app-${process.pid}`);
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let loads = 0;

afterEach(() => useRealProcess());

/**
 * Loads the recipe as a module (its hidden prelude first, as the samples harness does) and resolves with the
 * servers it listens on. The port it asks for (3000) is mapped to a free one while it loads, so the test runs
 * beside anything on 3000; nothing else of the recipe is touched.
 */
async function loadRecipe(): Promise<http.Server[]> {
	if (!recipe) throw new Error('README.md has no block tagged `<!-- sample: express -->`');
	const file = join(dir, `server-${(loads += 1)}.mjs`);
	writeFileSync(file, sampleSource(recipe, false));
	const servers: http.Server[] = [];
	const listen = net.Server.prototype.listen;
	net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
		if (typeof args[0] === 'number') args[0] = 0;
		servers.push(this as http.Server);
		return listen.apply(this, args as Parameters<typeof listen>);
	} as typeof listen;
	try {
		await import(pathToFileURL(file).href);
	} finally {
		net.Server.prototype.listen = listen;
	}
	return servers;
}

function get(port: number, path: string): Promise<{ status: number; body: string; connection: string | undefined }> {
	return new Promise((resolve, reject) => {
		http
			.get({ host: '127.0.0.1', port, path, agent: new http.Agent({ keepAlive: true }) }, (res) => {
				let body = '';
				res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
				res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
			})
			.on('error', reject);
	});
}

const EVENTS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'uncaughtException', 'unhandledRejection', 'exit', 'beforeExit'] as const;
const realListeners = () => EVENTS.map((event) => process.listenerCount(event));
const sockets = () => process.getActiveResourcesInfo().filter((name) => /TCP|Pipe/.test(name) && name !== 'PipeWrap');

describe("the README's Express recipe, as printed, under the testing kit", () => {
	it('answers the request in flight at SIGTERM, then exits 0 with a clean report, touching nothing real', async () => {
		const before = { listeners: realListeners(), sockets: sockets() };
		const fake = useFakeProcess();
		const [server, ...others] = await loadRecipe();
		expect(others).toEqual([]);
		const { port } = server!.address() as net.AddressInfo;
		expect(await get(port, '/readyz')).toMatchObject({ status: 200 });

		// SIGTERM the moment the server has the request, before the app has answered it.
		let inFlight: boolean | undefined;
		const onRequest = (message: unknown) => {
			const { request, response } = message as { request: http.IncomingMessage; response: http.ServerResponse };
			if (request.url !== '/') return;
			inFlight = !response.headersSent;
			fake.kill('SIGTERM');
		};
		subscribe('http.server.request.start', onRequest);
		try {
			const response = await get(port, '/');
			expect(inFlight).toBe(true);
			// `Connection: close` once the server has stopped accepting; in the turn or two before (it first takes the
			// connections the kernel queued) the answer keeps its keep-alive, and the drain closes the connection when
			// idle: the client's socket is gone before the end (the sockets check below).
			expect(response).toMatchObject({ status: 200, body: 'hello' });
			expect(['close', 'keep-alive']).toContain(response.connection);
		} finally {
			unsubscribe('http.server.request.start', onRequest);
		}
		expect(await fake.exited).toBe(0);
		// The recipe's `delay: 5000` is for a load balancer, which a test has none of (drainWaits: 'devWatch').
		expect(fake.shutdownReport!.durationMs).toBeLessThan(5000);
		expect(fake.shutdownReport).toMatchObject({
			reason: 'SIGTERM',
			outcome: 'clean',
			exitCode: 0,
			listeners: [
				{ name: `http localhost:${port}`, phase: 'wrap-up', outcome: 'ok' },
				{ name: 'health', phase: 'shutdown', outcome: 'ok' },
			],
		});
		expect(server!.listening).toBe(false);
		expect(realListeners()).toEqual(before.listeners);
		await vi.waitFor(() => expect(sockets()).toEqual(before.sockets));
	});

	it("keeps the recipe's 5 s delay with drainWaits: 'production': /readyz says 503 at once while the server still serves", async () => {
		vi.resetModules();
		const fake = useFakeProcess({ drainWaits: 'production' });
		const [server] = await loadRecipe();
		const { port } = server!.address() as net.AddressInfo;
		expect(await get(port, '/readyz')).toMatchObject({ status: 200 });
		fake.kill('SIGTERM');
		expect(await get(port, '/readyz')).toMatchObject({ status: 503 });
		expect(await get(port, '/')).toMatchObject({ status: 200, body: 'hello' });
		expect(await fake.exited).toBe(0);
		expect(fake.shutdownReport).toMatchObject({ outcome: 'clean' });
		expect(fake.shutdownReport!.durationMs).toBeGreaterThanOrEqual(5000);
	});
});
