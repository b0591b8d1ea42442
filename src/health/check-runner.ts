/**
 * One named check of a health ticker: called with its timeout and an abort signal, its result kept with the run of
 * equal results the thresholds look at, and never called again while an earlier call still runs.
 */
import pTimeout, { TimeoutError } from 'p-timeout';
import { messageOf } from './message-of.js';
import type { CheckResult, HealthCheck } from './types.js';

// Read at call time, so vitest's fake timers (installed after import) drive the timeout too.
const unrefTimers = {
	setTimeout: ((fn: () => void, ms: number) => {
		const timer = setTimeout(fn, ms);
		timer.unref?.();
		return timer;
	}) as unknown as typeof globalThis.setTimeout,
	clearTimeout: ((timer: ReturnType<typeof setTimeout> | undefined) => clearTimeout(timer)) as typeof globalThis.clearTimeout,
};

/**
 * p-timeout builds a TimeoutError, stack trace and all, on every call, in case the timeout fires; that
 * was 60 % of a round's CPU. Only the message is ever shown, so the trace is skipped. Synchronous: no
 * other code runs while the limit is lowered.
 */
function withoutStackTraces<T>(fn: () => T): T {
	const limit = Error.stackTraceLimit;
	try {
		Error.stackTraceLimit = 0;
	} catch {
		return fn();
	}
	try {
		return fn();
	} finally {
		Error.stackTraceLimit = limit;
	}
}

function round2(ms: number): number {
	return Math.round(ms * 100) / 100;
}

/**
 * One named check and what the ticker remembers about it: the last result, the run of equal results that
 * the thresholds look at, and whether an earlier call is still running.
 */
export class CheckRunner {
	readonly name: string;
	readonly #fn: HealthCheck;
	readonly #timeout: number;
	readonly #failureThreshold: number;
	readonly #successThreshold: number;
	/** Like Kubernetes' probes: failing until `successThreshold` passes in a row. */
	#healthy = false;
	#run = 0;
	#lastOk: boolean | undefined;
	#pending: { since: number } | undefined;

	constructor(name: string, fn: HealthCheck, timeout: number, failureThreshold: number, successThreshold: number) {
		this.name = name;
		this.#fn = fn;
		this.#timeout = timeout;
		this.#failureThreshold = failureThreshold;
		this.#successThreshold = successThreshold;
	}

	/** Whether the check counts as passing once the thresholds have had their say. */
	get healthy(): boolean {
		return this.#healthy;
	}

	/**
	 * Runs the check once, bounded by `timeout`; never rejects. Its controller goes into `running` while it
	 * runs, so that stopping the ticker can abort it (one shared stop signal would collect a listener per
	 * check and trip Node's MaxListeners warning past ten checks).
	 */
	async run(running: Set<AbortController>): Promise<CheckResult> {
		const started = performance.now();
		if (this.#pending) {
			// It ignored its abort signal last time; calling it again would pile up calls to a hung dependency.
			return {
				ok: false,
				latencyMs: round2(started - this.#pending.since),
				error: `still running from an earlier round after its timeout (${this.#timeout} ms); it should honour its abort signal`,
				at: Date.now(),
			};
		}
		const controller = new AbortController();
		running.add(controller);
		const pending = { since: started };
		let call: Promise<unknown>;
		try {
			call = Promise.resolve(this.#fn(controller.signal));
		} catch (error) {
			call = Promise.reject(error);
		}
		this.#pending = pending;
		const settled = () => {
			if (this.#pending === pending) this.#pending = undefined;
		};
		call.then(settled, settled);

		let ok = false;
		let error: string | undefined;
		try {
			const bounded = withoutStackTraces(() =>
				pTimeout(call, {
					milliseconds: this.#timeout,
					customTimers: unrefTimers,
					// Aborted by stop(): the round ends now, whatever the check does with its signal.
					signal: controller.signal,
					fallback: () => {
						const timeout = new TimeoutError(`timed out after ${this.#timeout} ms`);
						controller.abort(timeout);
						throw timeout;
					},
				}),
			);
			const value = await bounded;
			if (value === false) error = 'returned false';
			else ok = true;
		} catch (reason) {
			error = messageOf(reason);
		} finally {
			running.delete(controller);
		}
		const result: CheckResult = { ok, latencyMs: round2(performance.now() - started), at: Date.now() };
		return error === undefined ? result : { ...result, error };
	}

	/** Feeds one round's result to the thresholds. */
	record(ok: boolean): void {
		this.#run = ok === this.#lastOk ? this.#run + 1 : 1;
		this.#lastOk = ok;
		if (ok && !this.#healthy && this.#run >= this.#successThreshold) this.#healthy = true;
		else if (!ok && this.#healthy && this.#run >= this.#failureThreshold) this.#healthy = false;
	}
}
