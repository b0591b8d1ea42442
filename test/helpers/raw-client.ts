// A raw HTTP/1.1 client on one socket: what a client sends and receives, byte for byte (pipelining, 100-continue).
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RawClient {
	readonly socket: net.Socket;
	/** Resolves with performance.now() when the connection has closed. */
	readonly closed: Promise<number>;
	received(): string;
	/** The responses so far: status line, headers and body of each; `path` is a body of the form `/path\n`. */
	responses(): Array<{ text: string; path: string | undefined; close: boolean }>;
	/** Resolves once `text` has arrived; rejects if the connection closed without it. */
	waitFor(text: string): Promise<void>;
}

/** Connects to 127.0.0.1:`port`; `cleanup` gets what destroys the socket after the test. */
export async function rawClient(port: number, cleanup: Array<() => void>): Promise<RawClient> {
	const socket = net.connect(port, '127.0.0.1');
	await once(socket, 'connect');
	cleanup.push(() => socket.destroy());
	let received = '';
	socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
	const closed = once(socket, 'close').then(() => performance.now());
	return {
		socket,
		closed,
		received: () => received,
		responses: () =>
			received
				.split(/(?=HTTP\/1\.1 \d{3})/)
				.filter(Boolean)
				.map((text) => ({ text, path: /\r\n\r\n(\/\S*)\n/.exec(text)?.[1], close: /\r\nConnection: close\r\n/i.test(text) })),
		async waitFor(text: string) {
			while (!received.includes(text)) {
				if (socket.destroyed) throw new Error(`closed before ${JSON.stringify(text)}; got ${JSON.stringify(received)}`);
				await sleep(2);
			}
		},
	};
}
