import type { Listener, ListenerContext, ListenerOutcome, Phase } from './types.js';

const ignore = () => {};

/**
 * One registered listener. A shutdown may hold thousands, so what most of them never need is made only on
 * demand: the promise behind `wait()` when somebody calls it, the AbortController behind `ctx.signal` when
 * the listener reads it.
 */
export class ListenerEntry {
	readonly name: string;
	readonly phase: Phase;
	readonly fn: Listener;
	readonly timeout: number | undefined;
	status: 'registered' | 'running' | ListenerOutcome | 'removed' = 'registered';
	startedAt = 0;
	durationMs = 0;
	error: unknown = undefined;
	timer: ReturnType<typeof setTimeout> | undefined;
	#controller: AbortController | undefined;
	#aborted = false;
	#abortReason: unknown;
	#makeAbortReason: (() => unknown) | undefined;
	#promise: Promise<void> | undefined;
	#resolve: (() => void) | undefined;
	#reject: ((error: unknown) => void) | undefined;
	/** undefined: not yet; null: fulfilled; otherwise the error, or how to make it when somebody asks. */
	#settled: { error: unknown } | { makeError: () => unknown } | null | undefined;

	constructor(name: string, phase: Phase, fn: Listener, timeout: number | undefined) {
		this.name = name;
		this.phase = phase;
		this.fn = fn;
		this.timeout = timeout;
	}

	/** `ctx.signal`: aborted already if the listener timed out or was forced before it first looked. */
	get signal(): AbortSignal {
		if (this.#controller === undefined) {
			this.#controller = new AbortController();
			if (this.#aborted) this.#controller.abort(this.#reason());
		}
		return this.#controller.signal;
	}

	abort(reason: unknown): void {
		if (this.#aborted) return;
		this.#aborted = true;
		this.#abortReason = reason;
		this.#controller?.abort(reason);
	}

	/** Like abort(), but the reason is made only if the listener has looked at its signal or looks later. */
	abortLazily(makeReason: () => unknown): void {
		if (this.#aborted) return;
		this.#aborted = true;
		this.#makeAbortReason = makeReason;
		if (this.#controller) this.#controller.abort(this.#reason());
	}

	#reason(): unknown {
		if (this.#makeAbortReason) {
			this.#abortReason = this.#makeAbortReason();
			this.#makeAbortReason = undefined;
		}
		return this.#abortReason;
	}

	/** What `wait()` returns. Nobody has to call it: a failure never becomes an unhandled rejection. */
	promise(): Promise<void> {
		if (this.#promise === undefined) {
			const settled = this.#settled;
			this.#promise =
				settled === null
					? Promise.resolve()
					: settled !== undefined
						? Promise.reject('makeError' in settled ? settled.makeError() : settled.error)
						: new Promise<void>((resolve, reject) => {
								this.#resolve = resolve;
								this.#reject = reject;
							});
			this.#promise.catch(ignore);
		}
		return this.#promise;
	}

	/** Settles `wait()`; only the first call counts. */
	fulfil(): void {
		if (this.#settled !== undefined) return;
		this.#settled = null;
		this.#resolve?.();
	}

	fail(error: unknown): void {
		if (this.#settled !== undefined) return;
		this.#settled = { error };
		this.#reject?.(error);
	}

	/** Like fail(), but the error (and its stack trace) is made only if somebody waits: removal is common. */
	failLazily(makeError: () => unknown): void {
		if (this.#settled !== undefined) return;
		this.#settled = { makeError };
		this.#reject?.(makeError());
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
