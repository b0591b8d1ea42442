/** A listener's `timeout` ran out before it settled. */
export class ListenerTimeoutError extends Error {
	override name = 'ListenerTimeoutError';
	constructor(listenerName: string, ms: number) {
		super(`Listener \`${listenerName}\` timed out after ${ms} ms`);
	}
}

/**
 * The sequence was forced (the deadline passed, or a repeated signal) while the listener was still running
 * (`ctx.signal` aborts with it), or before it was called at all (its `wait()` rejects with it).
 */
export class ForceQuitError extends Error {
	override name = 'ForceQuitError';
	constructor(listenerName: string, ms: number, called = true) {
		super(
			called
				? `Listener \`${listenerName}\` was still pending when the shutdown was forced (${ms} ms)`
				: `Listener \`${listenerName}\` was never called: the shutdown was forced first (${ms} ms)`,
		);
	}
}

/** `wait()` of a listener removed before it was called. */
export class ListenerRemovedError extends Error {
	override name = 'ListenerRemovedError';
	constructor(listenerName: string) {
		super(`Listener \`${listenerName}\` was removed before it was called`);
	}
}
