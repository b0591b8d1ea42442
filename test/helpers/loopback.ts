// Listening on a free loopback port for one test, and closing (with every connection) after it.
import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';

/** Listens on 127.0.0.1 (a free port), resolves with the port; `cleanup` gets what closes it after the test. */
export async function listenOnLoopback(server: Server & { closeAllConnections(): void }, cleanup: Array<() => void>): Promise<number> {
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	cleanup.push(() => {
		server.closeAllConnections();
		server.close();
	});
	return (server.address() as AddressInfo).port;
}
