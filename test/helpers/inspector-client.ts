import { once } from 'node:events';
import WebSocket from 'ws';

/** A debugger as a developer attaches one: a Chrome DevTools Protocol client on a process's inspector WebSocket. */
export class InspectorClient {
	readonly #socket: WebSocket;
	readonly #pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
	readonly #events: Array<{ method: string; params: unknown }> = [];
	readonly #waiters: Array<{ method: string; resolve: (params: unknown) => void }> = [];
	#id = 0;
	/** Resolves when the process (or this client) closed the connection. */
	readonly closed: Promise<void>;

	private constructor(socket: WebSocket) {
		this.#socket = socket;
		this.closed = once(socket, 'close').then(() => {
			for (const { reject } of this.#pending.values()) reject(new Error('inspector connection closed'));
		});
		socket.on('message', (data) => {
			const message = JSON.parse(String(data)) as { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message: string } };
			if (message.id !== undefined) {
				const call = this.#pending.get(message.id);
				this.#pending.delete(message.id);
				if (message.error) call?.reject(new Error(message.error.message));
				else call?.resolve(message.result);
				return;
			}
			if (message.method === undefined) return;
			this.#events.push({ method: message.method, params: message.params });
			for (const waiter of this.#waiters.filter((w) => w.method === message.method)) {
				this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
				waiter.resolve(message.params);
			}
		});
	}

	static async connect(url: string): Promise<InspectorClient> {
		const socket = new WebSocket(url);
		await once(socket, 'open');
		return new InspectorClient(socket);
	}

	send(method: string, params: object = {}): Promise<unknown> {
		const id = ++this.#id;
		return new Promise((resolve, reject) => {
			this.#pending.set(id, { resolve, reject });
			this.#socket.send(JSON.stringify({ id, method, params }));
		});
	}

	/** Resolves with the params of the first event `method` (one already received included). */
	event(method: string): Promise<unknown> {
		const seen = this.#events.find((event) => event.method === method);
		if (seen) return Promise.resolve(seen.params);
		return new Promise((resolve) => this.#waiters.push({ method, resolve }));
	}

	close(): void {
		this.#socket.close();
	}
}
