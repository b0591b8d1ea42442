// TLS connections that have not completed their handshake: until then a connection is only a TCP socket, which
// node never links to the TLS socket it later hands over, so the two are matched by their addresses.
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createDebug } from '../debug.js';
import type { DrainState } from './drain-phase.js';
import { peerKey } from './peer-key.js';

const log = createDebug('http');

/** A TLS server's TCP connections whose handshake has not completed, by their addresses. */
export class TlsHandshakes {
	readonly #drain: DrainState;
	readonly #pending = new Map<string, { socket: net.Socket; at: number }>();

	constructor(drain: DrainState) {
		this.#drain = drain;
	}

	/** A TCP connection the TLS server accepted: handshaking until its TLS socket shows up. */
	add(socket: net.Socket): void {
		const key = peerKey(socket);
		this.#pending.set(key, { socket, at: Date.now() });
		socket.once('close', () => {
			if (this.#pending.get(key)?.socket === socket) this.#pending.delete(key);
		});
	}

	/** 'secureConnection': the handshake of the connection under `socket` completed. */
	completed(socket: TLSSocket): void {
		this.#pending.delete(peerKey(socket));
	}

	/**
	 * Once no longer accepting: a connection that never completes its handshake (no ClientHello) carries no
	 * request, so it is closed like an idle one, after `idleGrace`, instead of holding the drain to the deadline.
	 */
	closeStalled(): void {
		const drain = this.#drain;
		for (const [key, { socket, at }] of this.#pending) {
			drain.setTimer(
				() => {
					if (drain.phase !== 'draining' || this.#pending.get(key)?.socket !== socket) return;
					log('%s: closing a connection that did not complete its TLS handshake', drain.name);
					socket.destroy();
				},
				Math.max(at, drain.softAt) + drain.idleGrace - Date.now(),
			);
		}
	}
}
