/**
 * The last step: listeners called once every other listener has settled (or when only their slice of the
 * deadline is left), with the report, so that the application logs it through its own logger and then flushes
 * that logger and its telemetry exporter. They get a slice of `timeToForceQuit` that the other listeners cannot use.
 */
import { createDebug } from './debug.js';
import { describeError } from './describe-error.js';
import type { Sequence } from './sequence.js';
import type { FinalListener, ShutdownReport } from './types.js';
import { assertFunction, assertOptions, assertString } from './validate.js';

const log = createDebug('proc');

/** The slice of `timeToForceQuit` kept for the last step when it is not set: enough for a log flush and one export. */
export const DEFAULT_FINAL_SLICE_MS = 500;

/** The slice in force: as set, else the default, and never more than half of `timeToForceQuit`. */
export function finalSlice(set: number | undefined, timeToForceQuit: number): number {
	return Math.min(set ?? DEFAULT_FINAL_SLICE_MS, Math.floor(timeToForceQuit / 2));
}

export function assertFinalListener(fn: unknown, options: unknown): void {
	assertFunction('fn', fn);
	assertOptions('options', options as object | undefined, ['name']);
	const name = (options as { name?: unknown } | undefined)?.name;
	if (name !== undefined) assertString('options.name', name);
}

export class FinalListeners {
	readonly #listeners = new Set<{ fn: FinalListener; name: string }>();
	/** Set while the last step runs: ends it now (see cut). */
	#cut: ((why: string) => void) | undefined;

	get size(): number {
		return this.#listeners.size;
	}

	/** The slice of the deadline the last step keeps (see finalSlice): none without final listeners. */
	slice(set: number | undefined, timeToForceQuit: number): number {
		return this.#listeners.size === 0 ? 0 : finalSlice(set, timeToForceQuit);
	}

	/**
	 * Checks and adds `fn`, named by `options.name`, else its own name, else its place. Returns the function that
	 * takes it out again (true if it was still there).
	 */
	add(fn: FinalListener, options: { name?: string } | undefined): () => boolean {
		assertFinalListener(fn, options);
		const item = { fn, name: options?.name ?? (fn.name || `final#${this.#listeners.size + 1}`) };
		this.#listeners.add(item);
		return () => this.#listeners.delete(item);
	}

	/**
	 * Calls every final listener concurrently with the report; resolves when they have all settled, at `deadline`
	 * (epoch ms), or when the step is cut, whichever comes first. What they throw or reject with is told on `say`.
	 */
	run(report: ShutdownReport, deadline: number, say: (message: string) => void): Promise<void> {
		const controller = new AbortController();
		const calls = [...this.#listeners].map(({ fn, name }) => {
			let result: Promise<unknown>;
			try {
				result = Promise.resolve(fn({ report, signal: controller.signal, deadline }));
			} catch (error) {
				result = Promise.reject(error);
			}
			return result.then(
				() => log('final listener %s finished', name),
				(error: unknown) => say(`graceful-proc: final listener ${name} failed: ${describeError(error, { stack: true })}`),
			);
		});
		return new Promise<void>((resolve) => {
			const finish = () => {
				clearTimeout(timer);
				this.#cut = undefined;
				resolve();
			};
			const stop = (reason: string, message: string) => {
				controller.abort(new Error(reason));
				say(message);
				finish();
			};
			// Keeps the process alive while the last step runs; the deadline still holds.
			const timer = setTimeout(
				() => stop('graceful-proc: the force-quit deadline passed during the last step', 'graceful-proc: the last step was cut at the deadline'),
				Math.max(0, deadline - Date.now()),
			);
			this.#cut = (why) => stop(`graceful-proc: the last step was cut by ${why}`, `graceful-proc: the last step was cut by ${why}`);
			void Promise.all(calls).then(finish);
		});
	}

	/**
	 * Ends the running last step now, as a repeated signal ends the other phases: the final listeners' `signal`
	 * aborts with `why` and run() resolves. Nothing when no step runs.
	 */
	cut(why: string): void {
		this.#cut?.(why);
	}

	/**
	 * The last step of `sequence`, until its deadline; then `then`. Meanwhile a repeated signal cuts it, as it
	 * forces the other phases: the proc's signal handler calls `exitNow` while an ended sequence waits.
	 */
	runIn(sequence: Sequence, report: ShutdownReport, say: (message: string) => void, then: () => void): void {
		sequence.exitNow = (signal) => this.cut(`a repeated ${signal}`);
		void this.run(report, sequence.deadline, say).then(() => {
			sequence.exitNow = undefined;
			then();
		});
	}
}
