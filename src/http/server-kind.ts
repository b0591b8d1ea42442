// Which kind of server drain() was given (http, https, http2 or h2c), the check that it is one, and the name and
// URL a client on this machine reaches it by.
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { expected } from '../validate.js';
import { nodeHttp } from './node-http.js';

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

/** Throws unless `server` is a node http, https or http2 server, listening or not (yet). */
export function assertServer(argument: string, server: unknown): asserts server is net.Server {
	const isHttp =
		server instanceof nodeHttp().Server ||
		server instanceof https.Server ||
		(server instanceof net.Server && typeof (server as { updateSettings?: unknown }).updateSettings === 'function');
	if (!isHttp) {
		throw new TypeError(expected(argument, 'an http, https or http2 server (what `app.listen()` returns)', server));
	}
}

/**
 * Where a client on this machine reaches the server: `127.0.0.1:3000`, `[::1]:3000`, the pipe's path, or
 * `unbound`. A wildcard address is no place to connect to: `0.0.0.0` becomes `127.0.0.1`, and `::` (every
 * interface, IPv4 too unless `ipv6Only`) becomes `localhost`, which reaches it whichever family it resolves to.
 * The listener's name and serve()'s `url` both use it, so the report names the server as the url does.
 */
export function addressLabel(server: net.Server): string {
	const address = server.address();
	if (address === null) return 'unbound';
	if (typeof address === 'string') return address;
	let host = address.address;
	if (host === '0.0.0.0') host = '127.0.0.1';
	else if (host === '::') host = 'localhost';
	else if (host.includes(':')) host = `[${host}]`;
	return `${host}:${address.port}`;
}

/** The listener's default name: the protocol and where the server is reached, `http 127.0.0.1:3000`. */
export function serverName(kind: ServerKind, server: net.Server): string {
	return `${kind} ${addressLabel(server)}`;
}

/** A URL a client on this machine can use (see addressLabel). */
export function localUrl(server: net.Server, protocol: string): string {
	return `${protocol}://${addressLabel(server)}`;
}
