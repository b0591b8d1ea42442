// A connection's addresses as one string: the only link node leaves between a TCP socket and the TLS socket over
// it (or the HTTP/2 session on it), used to match the two.
import type net from 'node:net';

/** A connection's addresses, the same for its TCP socket and the TLS socket over it. */
export function peerKey(socket: net.Socket): string {
	return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}
