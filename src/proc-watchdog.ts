/**
 * A proc's side of the force-quit watchdog (the thread itself is in watchdog.ts): when the thread is made and
 * let go, what the proc tells it (the force-quit time, the deadline, that a report is being built, that the
 * sequence is ending) and what it asks it (when the signals arrived).
 */
import { describeError } from './describe-error.js';
import { arrivalOf, type SignalArrivals } from './sequence.js';
import type { SignalRouter } from './signals.js';
import type { ProcessLike } from './types.js';
import { Watchdog } from './watchdog/watchdog.js';

/** What the proc lends its watchdog. */
export interface WatchdogHost {
	readonly process: ProcessLike;
	/** Whether the proc may end the process (its `exit` option): a watchdog may, so none runs without it. */
	exit(): boolean;
	/** The signal router in force: whether the handlers are installed, and which signals they take. */
	router(): SignalRouter;
	timeToForceQuit(): number;
	/** No sequence has started: a watchdog put off to an idle moment is still wanted then. */
	running(): boolean;
	/** The thread's call at the deadline, from inside whatever blocks the main thread (see WatchdogOptions). */
	onDeadline(signal: string | null, arrivedAt: number | null, exitCode: number): void;
	/** The application's logger, called safely. */
	log(message: string): void;
	/** A thread was made, with the first listener: the moment to compile the sequence (see warm-up.ts). */
	started(watchdog: Watchdog): void;
	/** `'at-shutdown'`: no thread until the sequence starts (see ProcOptions.watchdog). */
	madeAtShutdown(): boolean;
	/** Compiles the sequence without a thread, in the idle moment where a resident one would have been made. */
	warmUp(): void;
}

export class ProcWatchdog {
	readonly #host: WatchdogHost;
	/** undefined until the handlers are installed, null where none can run. */
	#watchdog: Watchdog | null | undefined;
	#armSoon: ReturnType<typeof setImmediate> | undefined;

	constructor(host: WatchdogHost) {
		this.#host = host;
	}

	/**
	 * Registering starts the watchdog, but not inside the call: making a worker thread takes the main thread about
	 * 3 ms (loading node:worker_threads, then the thread's setup), which the first `addShutdownListener()` would
	 * otherwise pay. It is made in the next idle moment instead, long before any shutdown in practice; a sequence
	 * that starts sooner makes it at once. One that was released is armed again at once: that is cheap.
	 */
	armSoon(): void {
		if (this.#watchdog?.armed === true) return;
		if (this.#watchdog !== undefined && !this.#host.madeAtShutdown()) return this.arm();
		const host = this.#host;
		if (this.#armSoon !== undefined || !host.exit() || host.process !== globalThis.process) return;
		this.#armSoon = setImmediate(() => {
			this.#armSoon = undefined;
			if (!host.running()) return;
			if (host.madeAtShutdown()) host.warmUp();
			else this.arm();
		});
		this.#armSoon.unref?.();
	}

	/**
	 * The watchdog is started with the signal handlers, so that it is booted and idle when shutdown starts and
	 * the shutdown pays nothing for it; only on the real process, which it may end, and never with `exit: false`.
	 */
	arm(): void {
		const host = this.#host;
		const router = host.router();
		if (this.#watchdog === null || !host.exit() || host.process !== globalThis.process || !router.installed) return;
		// One released a moment ago (its last listener was removed) is armed again rather than replaced.
		if (this.#watchdog?.rearm(router.signals)) return;
		try {
			this.#watchdog =
				Watchdog.start({
					pid: host.process.pid,
					signals: router.signals,
					timeToForceQuit: host.timeToForceQuit(),
					onDeadline: (signal, arrivedAt, exitCode) => host.onDeadline(signal, arrivedAt, exitCode),
					onError: (error) => this.#failed(error),
				}) ?? null;
			if (this.#watchdog) host.started(this.#watchdog);
		} catch (error) {
			this.#watchdog = null;
			this.#failed(error);
		}
	}

	/**
	 * The handlers are gone, or about to change: the watchdog lets go of the signals, whose defaults apply again.
	 * Call it while the handlers are still installed, so that they catch what arrives (see Watchdog.release).
	 */
	release(): void {
		this.#watchdog?.release();
	}

	/** The force-quit time may have changed: a deadline counted from a signal the main thread has not seen follows it. */
	timesChanged(): void {
		this.#watchdog?.setTimeToForceQuit(this.#host.timeToForceQuit());
	}

	/** The sequence started: armed at once if the idle moment has not come yet, and told the deadline. */
	setDeadline(deadline: number): void {
		this.arm();
		this.#watchdog?.setDeadline(deadline);
	}

	/** A report is being built: bounded library work that the watchdog lets finish before any SIGKILL. */
	reporting(): void {
		this.#watchdog?.reporting();
	}

	/** The report is built; what follows is held to the deadline, and the process exits with `exitCode`. */
	ending(exitCode: number): void {
		this.#watchdog?.ending(exitCode);
	}

	/**
	 * When a signal handled now arrived. Where the watchdog watches `name` too, it saw the arrivals even while this
	 * loop was busy: `seen` is what it saw, and `arrivedAt` the first arrival.
	 */
	arrival(name: string): { now: number; seen: SignalArrivals | undefined; arrivedAt: number } {
		const now = Date.now();
		const seen = this.#host.router().signals.includes(name) ? this.#watchdog?.arrivals() : undefined;
		return { now, seen, arrivedAt: arrivalOf(now, seen) };
	}

	#failed(error: unknown): void {
		this.#host.log(`graceful-proc: the force-quit watchdog could not start (${describeError(error)}); a blocked event loop would outlive the deadline`);
	}
}
