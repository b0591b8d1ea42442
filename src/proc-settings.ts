/**
 * What a proc is set to: the options in force, the signal router made for them (installed with the first listener,
 * removed with the last), and the two times. configure() and setTimeTo*() change them until the sequence starts,
 * the reservations of drain() and supervise() at any time; the watchdog follows every change.
 */
import { checkForeignHandlers } from './foreign-handlers.js';
import { stderrLogger, warnTimes, writeDiagnosticReport } from './logger.js';
import { type CoreOptions, defaultOptions, outsideKillOf, PROC_OPTIONS, resolveOptions, type ResolvedOptions } from './proc-options.js';
import type { ProcWatchdog } from './proc-watchdog.js';
import { SignalRouter } from './signals.js';
import { TimeBudget } from './time-budget.js';
import type { ForeignHandler, Phase, ProcessLike, ProcOptions } from './types.js';
import { assertOptions, expected } from './validate.js';

/** What the proc lends its settings. */
export interface SettingsHost {
	readonly process: ProcessLike;
	/** No sequence has started: configure() and setTimeTo*() may still change what it will use. */
	running(): boolean;
	/** Follows the force-quit time, and lets go of the signals while the handlers change. */
	readonly watchdog: Pick<ProcWatchdog, 'timesChanged' | 'release' | 'armSoon'>;
	/** A signal the router caught. */
	onSignal(name: string): void;
	/** An uncaught exception or unhandled rejection, with `handleErrors`. */
	onError(error: unknown, kind: 'uncaughtException' | 'unhandledRejection'): void;
	/** The application's logger, called safely. */
	log(message: string): void;
}

export class ProcSettings {
	options: CoreOptions = defaultOptions(stderrLogger);
	router: SignalRouter;
	readonly times: TimeBudget;
	readonly #host: SettingsHost;

	/** `options`: createProc()'s, their keys checked; their values are checked here before anything is applied. */
	constructor(host: SettingsHost, options: Omit<ProcOptions, 'process'>) {
		this.#host = host;
		this.times = new TimeBudget((message) => warnTimes(host.process, message));
		const outsideKill = outsideKillOf(host.process);
		if (outsideKill !== undefined) this.times.setOutsideKill(outsideKill);
		this.router = this.#apply(resolveOptions(options, this.options));
	}

	/** configure(): every option is checked before anything changes; then the handlers are swapped. */
	configure(options: Omit<ProcOptions, 'process'>): void {
		// Unlike createProc(), whose options may be left out, configure() exists only to change something.
		if (options === undefined) throw new TypeError(expected('options', 'an object of options to change', options));
		assertOptions('options', options, PROC_OPTIONS.filter((key) => key !== 'process'));
		this.#assertRunning('configure');
		const wasInstalled = this.router.installed;
		const router = this.#apply(resolveOptions(options, this.options));
		// The signals or `exit` may change: the watchdog lets go first, while the handlers still catch what
		// arrives (see Watchdog.release), and follows the handlers as they are now.
		this.#host.watchdog.release();
		this.router.uninstall();
		this.router = router;
		if (wasInstalled) router.install();
		if (wasInstalled) this.#host.watchdog.armSoon();
	}

	/** A listener was added: the handlers are installed, and the watchdog made in the next idle moment (each once). */
	listening(): void {
		this.router.install();
		this.#host.watchdog.armSoon();
	}

	/** The last listener is gone and no sequence runs: the process is Node's again. */
	idle(): void {
		// The watchdog first, while our handlers still catch what arrives (see Watchdog.release).
		this.#host.watchdog.release();
		this.router.uninstall();
	}

	/** setTimeToForceQuit() and setTimeToWrapUp(), their times checked by the caller. */
	setTimes(method: string, times: { timeToForceQuit?: number; timeToWrapUp?: number }): void {
		this.#assertRunning(method);
		this.times.set(times);
		// An unset force-quit time follows the wrap-up time: the watchdog follows both.
		this.#host.watchdog.timesChanged();
	}

	/** For drain() and supervise() (see RESERVE_TIME): how long a listener they register may rightly take. Returns the release. */
	reserve(phase: Phase, ms: number, who: string): () => void {
		const release = this.times.reserve(phase, ms, who);
		this.#host.watchdog.timesChanged();
		return () => {
			release();
			this.#host.watchdog.timesChanged();
		};
	}

	/** Names other handlers on the signals in a warning, once each; detection never changes them. */
	checkForeignHandlers(): ForeignHandler[] {
		return checkForeignHandlers(this.#host.process, this.router?.signals ?? [], this.options.foreignHandlers);
	}

	/** A running sequence keeps the options and times it started with: changing them then would promise what it cannot keep. */
	#assertRunning(method: string): void {
		if (!this.#host.running()) throw new Error(`graceful-proc: ${method}() is not possible once shutdown has started`);
	}

	/** Applies options that were checked and resolved; returns the signal router made for them. */
	#apply({ options, times }: ResolvedOptions): SignalRouter {
		const host = this.#host;
		this.times.set(times);
		host.watchdog.timesChanged();
		this.options = options;
		return new SignalRouter({
			...options.router,
			process: host.process,
			onSignal: (name) => host.onSignal(name),
			onError: (error, kind) => host.onError(error, kind),
			onDiagnostic: () => writeDiagnosticReport(host.process, (message) => host.log(message)),
			onInstalled: () => this.checkForeignHandlers(),
		});
	}
}
