import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { expected } from '../validate.js';

export type ServerKind = 'http' | 'https' | 'http2' | 'h2c';

/** The shape drain() works with: a node server as `http`, `https` and `http2` create them. */
export type DrainableServer = net.Server;

/**
 * HTTP/2 servers are told apart by `updateSettings()`, which only `Http2Server` and `Http2SecureServer` have
 * (node does not export their classes); TLS ones by `tls.Server`, which https and secure http2 servers extend.
 */
export function serverKind(server: net.Server): ServerKind {
	const isH2 = typeof (server as { updateSettings?: unknown }).updateSettings === 'function';
	const isTls = server instanceof tls.Server;
	if (isH2) return isTls ? 'http2' : 'h2c';
	return isTls ? 'https' : 'http';
}

/** Throws unless `server` is a node server that is listening now. */
export function assertListeningServer(argument: string, server: unknown): asserts server is net.Server {
	const isHttp =
		server instanceof http.Server ||
		server instanceof https.Server ||
		(server instanceof net.Server && typeof (server as { updateSettings?: unknown }).updateSettings === 'function');
	if (!isHttp) {
		throw new TypeError(expected(argument, 'a listening http, https or http2 server (what `app.listen()` returns)', server));
	}
	if (!server.listening) {
		// listen() with a host name binds after a DNS lookup, so `drain(app.listen(port, host))` is too early.
		throw new TypeError(
			`${expected(argument, 'a listening server', server)}: it is not listening (yet); ` +
				"call drain() from listen()'s callback or after `await once(server, 'listening')`, or use serve()",
		);
	}
}

/** `127.0.0.1:3000`, `[::1]:3000`, or the pipe path. */
export function addressLabel(server: net.Server): string {
	const address = server.address();
	if (address === null) return 'unbound';
	if (typeof address === 'string') return address;
	return `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

/** A URL a client on this machine can use: the wildcard addresses become loopback. */
export function localUrl(server: net.Server, protocol: string): string {
	const address = server.address();
	if (address === null || typeof address === 'string') return `${protocol}://${address ?? 'unbound'}`;
	let host = address.address;
	if (host === '0.0.0.0') host = '127.0.0.1';
	else if (host === '::') host = '::1';
	return `${protocol}://${address.family === 'IPv6' || host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
