/**
 * Which stop of the handle's child is under way: the one asked for (stop(), restart(), the shutdown phase), or the
 * one of a child that was not ready in time, which a stop asked for later takes over rather than signal again.
 * Both last until the child has exited; then the handle learns which there was.
 */
import type { ChildProcess } from 'node:child_process';
import type { ResolvedOptions } from './options.js';
import type { ParentWatchdog } from './parent-watchdog.js';
import { StopRequest } from './stop-request.js';
import type { SuperviseError } from './supervise-error.js';

export class ChildStops {
	/** The stop asked for, until the child has exited. */
	current: StopRequest | undefined;
	/** A child stopped because it was not ready in time, until it has exited. */
	#unready: { readonly error: SuperviseError; readonly stop: StopRequest } | undefined;
	readonly #o: ResolvedOptions;
	readonly #watchdog: () => ParentWatchdog | undefined;

	constructor(o: ResolvedOptions, watchdog: () => ParentWatchdog | undefined) {
		this.#o = o;
		this.#watchdog = watchdog;
	}

	/** The child was not ready in time: it gets its stop signal now, and its exit counts as a failed start. */
	notReady(child: ChildProcess | undefined, error: SuperviseError): void {
		this.#unready = { error, stop: new StopRequest('exit', child, this.#o, this.#watchdog) };
		this.#unready.stop.begin();
	}

	/**
	 * A stop of `child` (undefined when it has exited and its 'exit' listeners run) is asked for, and none is under
	 * way: returns it, and whether the child is being stopped now (its stop signal is out).
	 */
	begin(then: 'exit' | 'restart', child: ChildProcess | undefined): { stop: StopRequest; stopping: boolean } {
		// A child being stopped for not being ready has had its stop signal: this stop takes that one over.
		const unready = this.#unready?.stop;
		this.#unready = undefined;
		const stop = (this.current = unready ?? new StopRequest(then, child, this.#o, this.#watchdog));
		stop.then = then;
		return { stop, stopping: unready !== undefined || stop.begin() };
	}

	/** The child has exited: whether it was stopped for not being ready (why), and the stop that waited for it, if any. */
	exited(): { notReady: SuperviseError | undefined; stop: StopRequest | undefined } {
		const unready = this.#unready;
		this.#unready = undefined;
		unready?.stop.dispose();
		const stop = this.current;
		this.current = undefined;
		stop?.dispose();
		return { notReady: unready?.error, stop };
	}
}
