// Connections that never finish their handshake (issue 17): a TCP connection to a TLS server that never sends
// its ClientHello, TLS with ALPN h2 but no HTTP/2 preface, h2c with no preface. They carry no request, so the
// drain closes them like idle connections, after idleGrace, instead of waiting for the deadline.
// In-process, with raw TCP and TLS clients.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
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

const IDLE_GRACE = 300;
/** The deadline the drain must not wait for; far above idleGrace and a loaded machine's delays. */
const DEADLINE = 8000;

type Case = { name: string; server: 'https' | 'http2' | 'h2c'; client: 'tcp' | 'tls-h2' };
const cases: Case[] = [{ name: 'h2c, no preface', server: 'h2c', client: 'tcp' }];
if (certificate) {
	cases.unshift(
		{ name: 'https, no ClientHello', server: 'https', client: 'tcp' },
		{ name: 'secure http2, no ClientHello', server: 'http2', client: 'tcp' },
		{ name: 'secure http2, ALPN h2 and no preface', server: 'http2', client: 'tls-h2' },
	);
}

function createServer(kind: Case['server']) {
	const handler = (_req: unknown, res: { end(body: string): void }) => res.end('ok\n');
	if (kind === 'h2c') return http2.createServer(handler);
	const options = { key: readFileSync(certificate!.key), cert: certificate!.ca };
	return kind === 'https' ? https.createServer(options, handler) : http2.createSecureServer({ ...options, allowHTTP1: true }, handler);
}

describe.each(cases)('a connection that never finishes its handshake ($name)', ({ server: kind, client: how }) => {
	it('is closed after idleGrace, and the drain ends then, clean, not at the deadline', async () => {
		const proc = createProc({ process: createFakeProcess(), exit: false, logger: false, timeToForceQuit: DEADLINE });
		const server = createServer(kind);
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		cleanup.push(() => server.close());
		drain(server, { proc, idleGrace: IDLE_GRACE });
		const port = (server.address() as AddressInfo).port;
		const socket =
			how === 'tcp'
				? net.connect(port, '127.0.0.1')
				: tls.connect({ port, host: '127.0.0.1', ca: certificate!.ca, ALPNProtocols: ['h2'] });
		// A client that sends nothing and reads nothing (node closes an HTTP/2 session at once when its client
		// reads, but not this one).
		socket.on('error', () => {});
		cleanup.push(() => socket.destroy());
		await once(socket, how === 'tcp' ? 'connect' : 'secureConnect');
		if (how === 'tls-h2') expect((socket as tls.TLSSocket).alpnProtocol).toBe('h2');
		// The server has seen the connection (and, for h2, made a session of it).
		await new Promise((resolve) => setTimeout(resolve, 50));
		const started = performance.now();
		const report = await proc.shutdown();
		const took = performance.now() - started;
		expect(report.outcome).toBe('clean');
		// After the grace: a client that was about to send got its time.
		expect(took).toBeGreaterThanOrEqual(IDLE_GRACE - 50);
		expect(took).toBeLessThan(DEADLINE / 2);
		// The drain ends when the server's last connection has gone: this one was closed.
		expect(server.listening).toBe(false);
		const count = await new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
		expect(count).toBe(0);
	});
});

describe.runIf(certificate)('a TLS connection whose handshake completes during the grace', () => {
	it('is served like any other: its request is answered, with `Connection: close`', async () => {
		const proc = createProc({ process: createFakeProcess(), exit: false, logger: false, timeToForceQuit: DEADLINE });
		const server = createServer('https');
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		cleanup.push(() => server.close());
		drain(server, { proc, idleGrace: 1000 });
		const port = (server.address() as AddressInfo).port;
		// TCP first; the TLS handshake and the request only once the drain has begun.
		const raw = net.connect(port, '127.0.0.1');
		await once(raw, 'connect');
		await new Promise((resolve) => setTimeout(resolve, 50));
		const shutdown = proc.shutdown();
		await new Promise((resolve) => setTimeout(resolve, 200));
		const socket = tls.connect({ socket: raw, ca: certificate!.ca, servername: undefined, host: '127.0.0.1' } as tls.ConnectionOptions);
		cleanup.push(() => socket.destroy());
		await once(socket, 'secureConnect');
		let received = '';
		socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
		socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
		await once(socket, 'close');
		expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n[\s\S]*ok\n$/);
		expect((await shutdown).outcome).toBe('clean');
	});
});
