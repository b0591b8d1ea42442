import type { Listener, ListenerContext, ListenerOutcome, Phase } from './types.js';

const ignore = () => {};

/**
 * One registered listener. A shutdown may hold thousands, so what most of them never need is made only on
 * demand: the promise behind `wait()` when somebody calls it, the AbortController behind `ctx.signal` when
 * the listener reads it.
 */
/** What only a listener whose `ctx.signal` was read, or that was aborted, needs. */
interface AbortState {
	controller: AbortController | undefined;
	reason: unknown;
	makeReason: (() => unknown) | undefined;
}

/** What only a listener whose `wait()` was called needs. */
interface WaitState {
	readonly promise: Promise<void>;
	resolve: (() => void) | undefined;
	reject: ((error: unknown) => void) | undefined;
}

export class ListenerEntry {
	readonly name: string;
	readonly phase: Phase;
	readonly fn: Listener;
	readonly timeout: number | undefined;
	status: 'registered' | 'running' | ListenerOutcome | 'removed' = 'registered';
	startedAt = 0;
	durationMs = 0;
	error: unknown = undefined;
	timer: ReturnType<typeof setTimeout> | undefined = undefined;
	// Registration is the hot path (a service may hold thousands of listeners and churn them): what most never
	// need lives in two objects made on demand, so an entry is a dozen fields.
	#aborted = false;
	#abort: AbortState | undefined = undefined;
	#wait: WaitState | undefined = undefined;
	/** undefined: not yet; null: fulfilled; otherwise the error, or how to make it when somebody asks. */
	#settled: { error: unknown } | { makeError: () => unknown } | null | undefined = undefined;

	constructor(name: string, phase: Phase, fn: Listener, timeout: number | undefined) {
		this.name = name;
		this.phase = phase;
		this.fn = fn;
		this.timeout = timeout;
	}

	/** `ctx.signal`: aborted already if the listener timed out or was forced before it first looked. */
	get signal(): AbortSignal {
		const state = (this.#abort ??= { controller: undefined, reason: undefined, makeReason: undefined });
		if (state.controller === undefined) {
			state.controller = new AbortController();
			if (this.#aborted) state.controller.abort(this.#reason());
		}
		return state.controller.signal;
	}

	abort(reason: unknown): void {
		if (this.#aborted) return;
		this.#aborted = true;
		const state = (this.#abort ??= { controller: undefined, reason: undefined, makeReason: undefined });
		state.reason = reason;
		state.controller?.abort(reason);
	}

	/** Like abort(), but the reason is made only if the listener has looked at its signal or looks later. */
	abortLazily(makeReason: () => unknown): void {
		if (this.#aborted) return;
		this.#aborted = true;
		const state = (this.#abort ??= { controller: undefined, reason: undefined, makeReason: undefined });
		state.makeReason = makeReason;
		if (state.controller) state.controller.abort(this.#reason());
	}

	#reason(): unknown {
		const state = this.#abort!;
		if (state.makeReason) {
			state.reason = state.makeReason();
			state.makeReason = undefined;
		}
		return state.reason;
	}

	/** What `wait()` returns. Nobody has to call it: a failure never becomes an unhandled rejection. */
	promise(): Promise<void> {
		if (this.#wait === undefined) {
			const settled = this.#settled;
			let resolve: (() => void) | undefined;
			let reject: ((error: unknown) => void) | undefined;
			const promise =
				settled === null
					? Promise.resolve()
					: settled !== undefined
						? Promise.reject('makeError' in settled ? settled.makeError() : settled.error)
						: new Promise<void>((res, rej) => {
								resolve = res;
								reject = rej;
							});
			promise.catch(ignore);
			this.#wait = { promise, resolve, reject };
		}
		return this.#wait.promise;
	}

	/** Settles `wait()`; only the first call counts. */
	fulfil(): void {
		if (this.#settled !== undefined) return;
		this.#settled = null;
		this.#wait?.resolve?.();
	}

	fail(error: unknown): void {
		if (this.#settled !== undefined) return;
		this.#settled = { error };
		this.#wait?.reject?.(error);
	}

	/** Like fail(), but the error (and its stack trace) is made only if somebody waits: removal is common. */
	failLazily(makeError: () => unknown): void {
		if (this.#settled !== undefined) return;
		this.#settled = { makeError };
		this.#wait?.reject?.(makeError());
	}
}

/**
 * What a listener receives. A class rather than an object literal with a getter: one shape shared by every
 * call, and `signal` (an AbortController) is made only if the listener reads it.
 */
export class ListenerContextImpl implements ListenerContext {
	readonly reason: unknown;
	readonly deadline: number;
	readonly #entry: ListenerEntry;

	constructor(reason: unknown, deadline: number, entry: ListenerEntry) {
		this.reason = reason;
		this.deadline = deadline;
		this.#entry = entry;
	}

	get signal(): AbortSignal {
		return this.#entry.signal;
	}
}
