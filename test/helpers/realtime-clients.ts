// Real clients for the realtime tests: Server-Sent Events over node's http, WebSockets with `ws`.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface StreamEnd {
	/** The response ended as HTTP says it should (the last chunk arrived), not cut by a reset. */
	clean: boolean;
	/** Every event's `event:` name (`message` when it has none), in order. */
	events: string[];
	error?: string;
	/** performance.now() when the stream ended. */
	at: number;
}

export interface SseClient {
	readonly ended: Promise<StreamEnd>;
	close(): void;
}

/** Opens an SSE stream and resolves once its first event has arrived (the handler has asked for its signal). */
export function openSse(port: number, path = '/events', agent: http.Agent | false = false): Promise<SseClient> {
	return new Promise((resolve, reject) => {
		const events: string[] = [];
		let settle!: (end: StreamEnd) => void;
		const ended = new Promise<StreamEnd>((r) => (settle = r));
		const req = http.get({ host: '127.0.0.1', port, path, agent, headers: { accept: 'text/event-stream' } }, (res) => {
			let buffer = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => {
				buffer += chunk;
				let boundary: number;
				while ((boundary = buffer.indexOf('\n\n')) >= 0) {
					const block = buffer.slice(0, boundary);
					buffer = buffer.slice(boundary + 2);
					const data = block.split('\n').some((line) => line.startsWith('data:'));
					if (!data) continue;
					const name = block.split('\n').find((line) => line.startsWith('event:'));
					events.push(name ? name.slice(6).trim() : 'message');
					if (events.length === 1) resolve({ ended, close: () => req.destroy() });
				}
			});
			res.on('end', () => settle({ clean: res.complete, events, at: performance.now() }));
			res.on('error', (error: NodeJS.ErrnoException) => settle({ clean: false, events, error: error.code ?? error.message, at: performance.now() }));
		});
		req.on('error', (error: NodeJS.ErrnoException) => {
			settle({ clean: false, events, error: error.code ?? error.message, at: performance.now() });
			reject(error);
		});
	});
}

export interface WsClient {
	readonly socket: WebSocket;
	readonly closed: Promise<{ code: number; reason: string; at: number }>;
}

/** Opens a WebSocket and resolves once the server's first message has arrived (its handler has run). */
export function openWs(port: number, path = '/ws'): Promise<WsClient> {
	return new Promise((resolve, reject) => {
		const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`);
		const closed = new Promise<{ code: number; reason: string; at: number }>((r) => {
			socket.on('close', (code, reason) => r({ code, reason: reason.toString(), at: performance.now() }));
		});
		socket.once('message', () => resolve({ socket, closed }));
		socket.on('error', reject);
	});
}
