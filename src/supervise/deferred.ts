/**
 * A promise with its resolve and reject at hand, for the supervisor's requests (a stop, a restart's spawn, a
 * reload) that are settled by events arriving later. A failure nobody awaited is not an unhandled rejection.
 */

export interface Deferred {
	readonly promise: Promise<void>;
	resolve(): void;
	reject(error: unknown): void;
}

export function deferred(): Deferred {
	let resolve!: () => void;
	let reject!: (error: unknown) => void;
	const promise = new Promise<void>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	// Whoever asked may not await it; a failure is reported through the state and 'error' instead.
	promise.catch(() => {});
	return { promise, resolve, reject };
}
