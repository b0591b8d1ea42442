/** A listener's `timeout` ran out before it settled. */
export class ListenerTimeoutError extends Error {
	override name = 'ListenerTimeoutError';
	constructor(listenerName: string, ms: number) {
		super(`Listener \`${listenerName}\` timed out after ${ms} ms`);
	}
}

/** The force-quit deadline passed while the listener was still running; `ctx.signal` aborts with it. */
export class ForceQuitError extends Error {
	override name = 'ForceQuitError';
	constructor(listenerName: string, ms: number) {
		super(`Listener \`${listenerName}\` was still pending when the force-quit deadline passed (${ms} ms)`);
	}
}

/** `wait()` of a listener removed before it was called. */
export class ListenerRemovedError extends Error {
	override name = 'ListenerRemovedError';
	constructor(listenerName: string) {
		super(`Listener \`${listenerName}\` was removed before it was called`);
	}
}
