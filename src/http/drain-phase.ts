// The phases of one server's drain, and what the parts of a drain (HTTP/1 connections, HTTP/2 sessions, TLS
// handshakes) read of it. The drainer moves through the phases; the parts only look.

/**
 * `watching`: running normally, only keeping track. `soft`: shutdown has started and the `delay` runs, then
 * the connections the kernel had queued are taken; the server still accepts and serves as before, keep-alive
 * included. `draining`: the listening socket is closed; every
 * response closes its connection, idle connections close after `idleGrace`. `cut`: the deadline destroyed what was left. `done`: nothing is left.
 */
export type DrainPhase = 'watching' | 'soft' | 'draining' | 'cut' | 'done';

/** One drain as its parts see it. */
export interface DrainState {
	/** The listener's name, for the debug log. */
	readonly name: string;
	readonly phase: DrainPhase;
	readonly idleGrace: number;
	/** When the shutdown started (the start of `soft`); 0 before. */
	readonly softAt: number;
	/** A step of the drain: a request finished or a connection closed while it drains (see drains-in-progress.ts). */
	progressed(): void;
	/** Runs `fn` after `ms` on an unref'd timer that the drain clears when it ends. */
	setTimer(fn: () => void, ms: number): void;
}
