// HTTP/2 specifics, in-process: sessions get a GOAWAY instead of `Connection: close`.
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { drain } from '../../src/http/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { testCertificate } from '../helpers/http-harness.js';

const certificate = testCertificate();
const cleanup: Array<() => void> = [];
afterEach(() => {
	for (const fn of cleanup.splice(0)) fn();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isolatedProc = () => createProc({ process: createFakeProcess(), exit: false, logger: false });

type Variant = 'secure' | 'h2c';
const variants: Variant[] = certificate ? ['secure', 'h2c'] : ['h2c'];

async function h2Server(variant: Variant, api: 'compat' | 'stream' = 'compat') {
	const seen: string[] = [];
	const respond = (path: string, reply: (body: string) => void) => {
		seen.push(path);
		const ms = Number(new URL(path, 'http://x').searchParams.get('ms') ?? 0);
		setTimeout(() => reply(`${path}\n`), ms);
	};
	const options = variant === 'secure' ? { key: await import('node:fs').then((fs) => fs.readFileSync(certificate!.key)), cert: certificate!.ca } : {};
	const server = variant === 'secure' ? http2.createSecureServer(options) : http2.createServer();
	if (api === 'compat') server.on('request', (req, res) => respond(req.url, (body) => res.end(body)));
	else
		server.on('stream', (stream, headers) =>
			respond(String(headers[':path']), (body) => {
				stream.respond({ ':status': 200 });
				stream.end(body);
			}),
		);
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	cleanup.push(() => server.close());
	const port = (server.address() as AddressInfo).port;
	const connect = async () => {
		const session = http2.connect(`${variant === 'secure' ? 'https' : 'http'}://127.0.0.1:${port}`, certificate ? { ca: certificate.ca } : {});
		session.on('error', () => {});
		cleanup.push(() => session.destroy());
		await once(session, 'connect');
		return session;
	};
	return { server, seen, connect };
}

function get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
	return new Promise((resolve, reject) => {
		const stream = session.request({ ':path': path });
		let status = 0;
		let body = '';
		stream.on('response', (headers) => (status = Number(headers[':status'])));
		stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
		stream.on('end', () => resolve({ status, body }));
		stream.on('error', reject);
		stream.end();
	});
}

describe.each(variants)('HTTP/2 (%s): a session gets a GOAWAY when the shutdown starts', (variant) => {
	it('its stream in flight is answered, and a new stream on it is refused, never processed', async () => {
		const proc = isolatedProc();
		const { server, seen, connect } = await h2Server(variant);
		drain(server, { proc, idleGrace: 5000 });
		const session = await connect();
		const inFlight = get(session, '/slow?ms=400');
		while (seen.length === 0) await sleep(5);
		const goaway = once(session, 'goaway');
		const shutdown = proc.shutdown();
		const [code] = (await goaway) as [number];
		expect(code).toBe(http2.constants.NGHTTP2_NO_ERROR);
		await expect(get(session, '/late')).rejects.toMatchObject({ code: expect.stringMatching(/ERR_HTTP2_(GOAWAY_SESSION|INVALID_SESSION|STREAM_CANCEL)/) });
		expect(await inFlight).toEqual({ status: 200, body: '/slow?ms=400\n' });
		expect((await shutdown).outcome).toBe('clean');
		expect(seen).toEqual(['/slow?ms=400']);
	});

	it('an idle session goes at once: the GOAWAY tells the client what was processed, so no grace is needed', async () => {
		const proc = isolatedProc();
		const { server, connect } = await h2Server(variant);
		drain(server, { proc, idleGrace: 5000 });
		const session = await connect();
		await get(session, '/');
		const started = performance.now();
		const report = await proc.shutdown();
		expect(report.outcome).toBe('clean');
		expect(performance.now() - started).toBeLessThan(1000);
	});

	it('a session opened during `delay` serves its first stream, then gets a GOAWAY', async () => {
		const proc = isolatedProc();
		const { server, connect } = await h2Server(variant);
		drain(server, { proc, delay: 600, idleGrace: 5000 });
		const shutdown = proc.shutdown();
		const session = await connect();
		const goaway = once(session, 'goaway');
		expect(await get(session, '/during')).toEqual({ status: 200, body: '/during\n' });
		await goaway;
		expect((await shutdown).outcome).toBe('clean');
	});

	it('works with the stream API too, without switching on the compatibility layer', async () => {
		const proc = isolatedProc();
		const { server, seen, connect } = await h2Server(variant, 'stream');
		drain(server, { proc });
		expect(server.listenerCount('request')).toBe(0);
		const session = await connect();
		const inFlight = get(session, '/slow?ms=300');
		while (seen.length === 0) await sleep(5);
		const shutdown = proc.shutdown();
		expect(await inFlight).toEqual({ status: 200, body: '/slow?ms=300\n' });
		expect((await shutdown).outcome).toBe('clean');
	});
});
