/**
 * A proc's side of the force-quit watchdog (the thread itself is in watchdog/): when the thread is made (the idle
 * moment that also compiles the sequence, see warm-up.ts) and let go, what the proc tells it (the force-quit time,
 * the deadline, that a report is being built, that the sequence is ending) and what it asks it (signal arrivals).
 */
import { describeError } from './describe-error.js';
import { idleSoon } from './idle-soon.js';
import { arrivalOf, type SignalArrivals } from './sequence.js';
import type { CoreOptions } from './proc-options.js';
import type { SignalRouter } from './signals.js';
import type { Proc, ProcessLike, ProcOptions } from './types.js';
import { warmUpOnce } from './warm-up.js';
import { Watchdog } from './watchdog/watchdog.js';

/** What the proc lends its watchdog. */
export interface WatchdogHost {
	readonly process: ProcessLike;
	/**
	 * The options in force: `exit`, whether the proc may end the process (a watchdog may, so none runs without it),
	 * and `watchdog`: `'at-shutdown'`, no thread until the sequence starts; `'off'`, never (see ProcOptions.watchdog).
	 */
	options(): CoreOptions;
	/** The signal router in force: whether the handlers are installed, and which signals they take. */
	router(): SignalRouter;
	timeToForceQuit(): number;
	/** No sequence has started: a watchdog put off to an idle moment is still wanted then. */
	running(): boolean;
	/** The thread's call at the deadline, from inside whatever blocks the main thread (see WatchdogOptions). */
	onDeadline(signal: string | null, arrivedAt: number | null, exitCode: number): void;
	/** The application's logger, called safely. */
	log(message: string): void;
	/** Makes an isolated proc, for the throwaway sequence that compiles the real one (see warm-up.ts). */
	makeProc(options: ProcOptions): Proc;
}

export class ProcWatchdog {
	readonly #host: WatchdogHost;
	/** undefined until the handlers are installed, null where none can run. */
	#watchdog: Watchdog | null | undefined;
	/** An arming is planned for the next idle moment. */
	#armSoon = false;

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
		const host = this.#host;
		if (this.#watchdog !== undefined && host.options().watchdog === 'resident') return this.arm();
		if (this.#armSoon || !host.options().exit || host.process !== globalThis.process) return;
		this.#armSoon = true;
		idleSoon(() => {
			this.#armSoon = false;
			if (!host.running()) return;
			// With no thread to make now, the idle moment still compiles the sequence.
			if (host.options().watchdog !== 'resident') warmUpOnce({ makeProc: host.makeProc, readArrivals: () => undefined });
			else this.arm();
		});
	}

	/**
	 * The watchdog is started with the signal handlers, so that it is booted and idle when shutdown starts and
	 * the shutdown pays nothing for it; only on the real process, which it may end, and never with `exit: false`.
	 */
	arm(): void {
		const host = this.#host;
		const router = host.router();
		if (this.#watchdog === null || !host.options().exit || host.process !== globalThis.process || !router.installed) return;
		if (host.options().watchdog === 'off') return;
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
			// A thread was made, with the first listener: the moment to compile the sequence.
			const watchdog = this.#watchdog;
			if (watchdog) warmUpOnce({ makeProc: host.makeProc, readArrivals: () => watchdog.arrivals() });
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
