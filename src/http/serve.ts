// serve(app): an Express or Koa app, or a request handler, listening on a node http server that drains on
// shutdown. Public, from `graceful-proc/http`.
import type http from 'node:http';
import { proc as defaultProc } from '../index.js';
import type { WaitFunction } from '../types.js';
import { expected } from '../validate.js';
import { registerDrain } from './drain.js';
import { nodeHttp } from './node-http.js';
import { DRAIN_OPTION_KEYS, type DrainOptions, resolveDrainOptions } from './options.js';
import { answerReturnedResponses, refuseFetchStyle } from './fetch-style.js';
import { localUrl } from './server-kind.js';
import { pickInheritedSocket } from '../systemd/listen-fds.js';
import { notifyReady } from '../systemd/service.js';

/** A Koa application, or anything else with a `callback()` that returns a request listener. */
export interface CallbackApp {
	callback(): http.RequestListener;
}

/**
 * A node request handler: `(req, res) => ...` gets node's `IncomingMessage` and `ServerResponse` (an Express
 * app is one too). Handlers typed with a framework's subtypes of them fit; a fetch-style handler, which takes a
 * web `Request`, does not.
 */
export type RequestHandler<Req extends http.IncomingMessage = http.IncomingMessage, Res extends http.ServerResponse = http.ServerResponse> = (
	req: Req,
	res: Res,
	next?: (error?: unknown) => void,
) => unknown;

/** An Express app (itself a request handler), a Koa app, or a plain `(req, res)` handler. Not a fetch-style app. */
export type ServeApp<Req extends http.IncomingMessage = http.IncomingMessage, Res extends http.ServerResponse = http.ServerResponse> =
	| RequestHandler<Req, Res>
	| CallbackApp;

export interface ServeOptions extends DrainOptions {
	/**
	 * The port to listen on; `0` picks a free one (see `url`). A numeric string, as in `process.env.PORT`, works too.
	 * @default 0
	 * @example { port: Number(process.env.PORT ?? 3000) }
	 */
	port?: number | string;
	/**
	 * The address to listen on.
	 * @default node's default: every interface (`::`, and `0.0.0.0` through it)
	 * @example { host: '127.0.0.1' }
	 */
	host?: string;
	/**
	 * Under systemd socket activation with several sockets, the one to serve on (its `FileDescriptorName=`). With
	 * one passed socket it is taken by itself; without socket activation `port` and `host` are used.
	 */
	socketName?: string;
}

export interface Served {
	/** The listening node http server. */
	server: http.Server;
	/**
	 * Where a client on this machine reaches it: `http://localhost:3000` with the default host (every interface),
	 * `http://127.0.0.1:3000` with `host: '127.0.0.1'` or `'0.0.0.0'`, `http://[::1]:3000` with `host: '::1'`.
	 */
	url: string;
	/** The drain listener's `wait`: settles once the server has drained. */
	wait: WaitFunction;
}

const SERVE_OPTION_KEYS = ['port', 'host', 'socketName', ...DRAIN_OPTION_KEYS] as const;

function toRequestListener(app: unknown): http.RequestListener {
	// Koa first: its app is an object whose callback() builds the listener; Express's app is the listener.
	if (app !== null && (typeof app === 'object' || typeof app === 'function') && typeof (app as CallbackApp).callback === 'function') {
		const listener = (app as CallbackApp).callback();
		if (typeof listener !== 'function') {
			throw new TypeError(expected('app.callback()', 'a request listener', listener));
		}
		return listener;
	}
	refuseFetchStyle(app);
	if (typeof app === 'function') return answerReturnedResponses(app as http.RequestListener);
	throw new TypeError(expected('app', 'an Express app, a Koa app or a `(req, res)` handler', app));
}

function resolvePort(port: unknown): number {
	if (port === undefined) return 0;
	const value = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
	if (typeof value !== 'number') throw new TypeError(expected('options.port', 'an integer from 0 to 65535', port));
	if (!Number.isInteger(value) || value < 0 || value > 65535) throw new RangeError(expected('options.port', 'an integer from 0 to 65535', port));
	return value;
}

/**
 * Listen with `app` on `port` and drain on shutdown. Resolves once the server listens; a listen error (port in
 * use, no permission) rejects with node's own error and leaves nothing registered.
 *
 * @example
 * const { url } = await serve(app, { port: 3000, delay: 5000 })
 */
export async function serve<Req extends http.IncomingMessage = http.IncomingMessage, Res extends http.ServerResponse = http.ServerResponse>(
	app: ServeApp<Req, Res>,
	options: ServeOptions = {},
): Promise<Served> {
	const listener = toRequestListener(app);
	const drainOptions = resolveDrainOptions(options, { known: SERVE_OPTION_KEYS });
	const port = resolvePort(options.port);
	if (options.host !== undefined && typeof options.host !== 'string') {
		throw new TypeError(expected('options.host', 'a string', options.host));
	}
	if (options.socketName !== undefined && typeof options.socketName !== 'string') {
		throw new TypeError(expected('options.socketName', 'a string', options.socketName));
	}
	// systemd's socket, when it passed one: it stays open across restarts, so no connection is refused meanwhile.
	const inherited = pickInheritedSocket(options.socketName);
	const server = nodeHttp().createServer(listener);
	await new Promise<void>((resolve, reject) => {
		const onError = (error: Error) => {
			server.removeListener('listening', onListening);
			reject(error);
		};
		const onListening = () => {
			server.removeListener('error', onError);
			resolve();
		};
		server.once('error', onError);
		server.once('listening', onListening);
		if (inherited) server.listen({ fd: inherited.fd });
		else server.listen(port, options.host);
	});
	let wait: WaitFunction;
	try {
		wait = registerDrain(server, drainOptions).wait;
	} catch (error) {
		server.close();
		throw error;
	}
	const url = localUrl(server, 'http');
	void notifyReady(drainOptions.proc ?? defaultProc, `serving ${url}`);
	return { server, url, wait };
}
