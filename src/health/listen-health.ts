/**
 * The probe server a ticker listens on when given a `port`: a node:http server of its own for the probes,
 * unref'd, with the URL it answers on; and closing it, open connections and all, when the ticker stops.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeHttp } from '../http/node-http.js';
import type { HealthHandler, HealthServer } from './types.js';

function urlOf(server: Server): string {
	const address = server.address() as AddressInfo;
	let host = address.address;
	if (host === '::' || host === '0.0.0.0') host = 'localhost';
	else if (host.includes(':')) host = `[${host}]`;
	return `http://${host}:${address.port}`;
}

/**
 * A server of its own for the probes. It is unref'd: the probe port answers while the process has work,
 * and never is the reason a finished process stays up.
 */
export function listenHealth(handler: HealthHandler, port: number, host: string | undefined): Promise<HealthServer> {
	const server = nodeHttp().createServer((req, res) => handler(req, res));
	// Probes (kubelet, load balancers) are short; no reason to hold idle sockets open during a shutdown.
	server.keepAliveTimeout = 1000;
	return new Promise((resolve, reject) => {
		const onError = (error: Error) => reject(error);
		server.once('error', onError);
		server.listen(port, host, () => {
			server.off('error', onError);
			server.unref();
			resolve({ server, url: urlOf(server) });
		});
	});
}

export function closeServer(server: Server): Promise<void> {
	return new Promise((resolve) => {
		if (!server.listening) return resolve();
		server.close(() => resolve());
		server.closeAllConnections?.();
	});
}
