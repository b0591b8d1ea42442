/**
 * The CommonJS and the ESM build each define these classes, and both can be loaded in one process (a jest test
 * requiring what an ESM module imported): each instance carries a brand registered under `Symbol.for`, and
 * `instanceof` checks the brand, so an error made by either build is an instance of the class from the other.
 */
function branded(error: Error, name: string): void {
	Object.defineProperty(error, Symbol.for(`graceful-proc.${name}`), { value: true });
}

function hasBrand(value: unknown, name: string): boolean {
	return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[Symbol.for(`graceful-proc.${name}`)] === true;
}

/** A listener's `timeout` ran out before it settled. */
export class ListenerTimeoutError extends Error {
	override name = 'ListenerTimeoutError';
	static override [Symbol.hasInstance](value: unknown): boolean {
		return hasBrand(value, 'ListenerTimeoutError');
	}
	constructor(listenerName: string, ms: number) {
		super(`Listener \`${listenerName}\` timed out after ${ms} ms`);
		branded(this, 'ListenerTimeoutError');
	}
}

/**
 * The sequence was forced (the deadline passed, or a repeated signal) while the listener was still running
 * (`ctx.signal` aborts with it), or before it was called at all (its `wait()` rejects with it).
 */
export class ForceQuitError extends Error {
	override name = 'ForceQuitError';
	static override [Symbol.hasInstance](value: unknown): boolean {
		return hasBrand(value, 'ForceQuitError');
	}
	constructor(listenerName: string, ms: number, called = true) {
		super(
			called
				? `Listener \`${listenerName}\` was still pending when the shutdown was forced (${ms} ms)`
				: `Listener \`${listenerName}\` was never called: the shutdown was forced first (${ms} ms)`,
		);
		branded(this, 'ForceQuitError');
	}
}

/** `wait()` of a listener removed before it was called. */
export class ListenerRemovedError extends Error {
	override name = 'ListenerRemovedError';
	static override [Symbol.hasInstance](value: unknown): boolean {
		return hasBrand(value, 'ListenerRemovedError');
	}
	constructor(listenerName: string) {
		super(`Listener \`${listenerName}\` was removed before it was called`);
		branded(this, 'ListenerRemovedError');
	}
}

/** The code of a NotAcceptingError, for consumers that test codes rather than classes. */
export const NOT_ACCEPTING = 'GRACEFUL_PROC_NOT_ACCEPTING';

/**
 * `track()` was called once the sequence had started: the unit was not started (its function was not called), so
 * a consumer can hand the item back to its queue. `reason` is what started the sequence.
 */
export class NotAcceptingError extends Error {
	override name = 'NotAcceptingError';
	readonly code = NOT_ACCEPTING;
	static override [Symbol.hasInstance](value: unknown): boolean {
		return hasBrand(value, 'NotAcceptingError');
	}
	constructor(unitName: string, readonly reason: unknown) {
		super(`Tracked unit \`${unitName}\` was not started: the shutdown has begun`);
		branded(this, 'NotAcceptingError');
	}
}

/**
 * Tracked work was cut by the deadline: a unit's `signal` aborts with one naming that unit, and the listener
 * `tracked work` rejects with one naming every unit it cut (`units`), those still running when it gave up among
 * them (`running`).
 */
export class TrackedWorkCutError extends Error {
	override name = 'TrackedWorkCutError';
	static override [Symbol.hasInstance](value: unknown): boolean {
		return hasBrand(value, 'TrackedWorkCutError');
	}
	constructor(
		message: string,
		readonly units: readonly string[],
		readonly running: readonly string[],
	) {
		super(message);
		branded(this, 'TrackedWorkCutError');
	}
}
