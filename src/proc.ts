import { createDebug } from './debug.js';
import { describeError } from './describe-error.js';
import { type Leaving, leave } from './exit.js';
import { type ListenerEntry, waitFunctions } from './listener-entry.js';
import { ListenerTable } from './listeners.js';
import {
	appExitCode,
	arrivalOf,
	createSequence,
	endsFailed,
	exitCodeOf,
	isDuplicate,
	joinSequence,
	recordFirstSignal,
	recordSignal,
	type Sequence,
} from './sequence.js';
import { stderrLogger, warnTimes, writeDiagnosticReport, writeLog } from './logger.js';
import { assertListener, assertProcessLike, type CoreOptions, defaultOptions, PROC_OPTIONS, resolveOptions, type ResolvedOptions } from './proc-options.js';
import { SignalRouter } from './signals.js';
import { type SignalSenders, sendersNow, signalSenders } from './signal-senders.js';
import { writeTerminalNotice } from './terminal-notice.js';
import { pm2KillTimeout } from './pm2-env.js';
import { BLOCKED_REPORT_MS, briefRows, buildReport, listenerRows } from './report.js';
import { RESERVE_TIME, TimeBudget } from './time-budget.js';
import type {
	ForcedBy,
	Listener,
	ListenerOptions,
	Phase,
	Proc,
	ProcessLike,
	ProcOptions,
	ProcState,
	ShutdownOptions,
	ShutdownReport,
	WaitFunction,
} from './types.js';
import { methodsAtCallSite } from './call-site.js';
import { assertDuration, assertNumber, assertOptions, expected } from './validate.js';
import { ProcWatchdog } from './proc-watchdog.js';
import { warmUpOnce } from './warm-up.js';

const log = createDebug('proc');

/**
 * Lets `run()` start the sequence with an exit code floor without widening the public API. Registered, so that
 * `run()` of the CommonJS build finds it on a proc made by the ESM build (or another copy), and vice versa.
 */
export const kShutdownWithCode = Symbol.for('graceful-proc.shutdownWithCode');

/**
 * The state machine: running → wrapping-up → shutting-down → done, or → forced at the deadline or on a
 * repeated signal. Everything else (signals, watchdog, report text) lives in its own module.
 */
export class ProcImpl implements Proc {
	readonly #process: ProcessLike;
	#options: CoreOptions = defaultOptions(stderrLogger);
	#router: SignalRouter;
	readonly #times = new TimeBudget((message) => warnTimes(this.#process, message));
	#state: ProcState = 'running';
	#abort = new AbortController();
	readonly #listeners = new ListenerTable(() => this.#advance());
	#sequence: Sequence | undefined;
	readonly #watchdog: ProcWatchdog;

	constructor(options: ProcOptions = {}) {
		assertOptions('options', options, PROC_OPTIONS);
		const proc = options.process ?? globalThis.process;
		assertProcessLike('options.process', proc);
		this.#process = proc;
		this.#watchdog = new ProcWatchdog({
			process: proc,
			exit: () => this.#options.exit,
			router: () => this.#router,
			timeToForceQuit: () => this.timeToForceQuit,
			running: () => this.#state === 'running',
			onDeadline: (signal, arrivedAt, exitCode) => this.#onWatchdogDeadline(signal, arrivedAt, exitCode),
			log: (message) => this.#log(message),
			started: (watchdog) => warmUpOnce({ makeProc: (options) => new ProcImpl(options), readArrivals: () => watchdog.arrivals() }),
		});
		// PM2 SIGKILLs an app kill_timeout ms after its stop signal: unset times fit inside it, set ones are checked.
		const pm2Kill = proc === globalThis.process ? pm2KillTimeout() : undefined;
		if (pm2Kill !== undefined) {
			this.#times.setOutsideKill({ ms: pm2Kill, who: 'PM2 (kill_timeout)', fix: (ms) => `set kill_timeout to ${ms} or more in the ecosystem file (or pm2 start --kill-timeout ${ms})` });
		}
		this.#router = this.#apply(resolveOptions(options, this.#options));
	}

	/**
	 * Change the options of a proc that has not started its sequence (all of `createProc`'s but `process`),
	 * which is how the process-wide proc gets `handleErrors`, `logger`, `onReport` and the rest.
	 */
	configure(options: Omit<ProcOptions, 'process'>): void {
		// Unlike createProc(), whose options may be left out, configure() exists only to change something.
		if (options === undefined) throw new TypeError(expected('options', 'an object of options to change', options));
		assertOptions('options', options, PROC_OPTIONS.filter((key) => key !== 'process'));
		if (this.#state !== 'running') throw new Error('graceful-proc: configure() is not possible once shutdown has started');
		const wasInstalled = this.#router.installed;
		const router = this.#apply(resolveOptions(options, this.#options));
		// The signals or `exit` may change: the watchdog lets go first, while the handlers still catch what
		// arrives (see Watchdog.release), and follows the handlers as they are now.
		this.#watchdog.release();
		this.#router.uninstall();
		this.#router = router;
		if (wasInstalled) router.install();
		if (wasInstalled) this.#watchdog.armSoon();
	}

	/** Applies options that were checked and resolved; returns the signal router made for them. */
	#apply({ options, times }: ResolvedOptions): SignalRouter {
		this.#times.set(times);
		this.#watchdog.timesChanged();
		this.#options = options;
		const { signals, handleErrors, pm2, diagnosticSignal } = options;
		return new SignalRouter({
			process: this.#process,
			signals,
			handleErrors,
			pm2,
			diagnosticSignal,
			onSignal: (name) => this.#onSignal(name),
			onError: (error, kind) => this.#onError(error, kind),
			onDiagnostic: () => writeDiagnosticReport(this.#process, (message) => this.#log(message)),
		});
	}

	get state(): ProcState {
		return this.#state;
	}

	get signal(): AbortSignal {
		return this.#abort.signal;
	}

	get deadline(): number | undefined {
		return this.#sequence?.deadline;
	}

	/** The time in force: as set, or, when unset, what the registered listeners need (see TimeBudget). */
	get timeToForceQuit(): number {
		return this.#times.timeToForceQuit;
	}

	get timeToWrapUp(): number {
		return this.#times.timeToWrapUp;
	}

	/** For drain() and supervise(): how long a listener they register may rightly take. Returns the release. */
	[RESERVE_TIME](phase: Phase, ms: number, who: string): () => void {
		const release = this.#times.reserve(phase, ms, who);
		this.#watchdog.timesChanged();
		return () => {
			release();
			this.#watchdog.timesChanged();
		};
	}

	/** A running sequence keeps the times it started with: changing them then would promise what it cannot keep. */
	#assertNotStarted(method: string): void {
		if (this.#state !== 'running') throw new Error(`graceful-proc: ${method}() is not possible once shutdown has started`);
	}

	addWrapUpListener(fn: Listener, options?: ListenerOptions): WaitFunction {
		assertListener('fn', fn, options);
		return this.#add('wrap-up', fn, options);
	}

	addShutdownListener(fn: Listener, options?: ListenerOptions): WaitFunction {
		assertListener('fn', fn, options);
		return this.#add('shutdown', fn, options);
	}

	setTimeToForceQuit(ms: number): void {
		assertDuration('ms', ms);
		this.#assertNotStarted('setTimeToForceQuit');
		this.#times.set({ timeToForceQuit: ms });
		this.#watchdog.timesChanged();
	}

	setTimeToWrapUp(ms: number): void {
		assertDuration('ms', ms);
		this.#assertNotStarted('setTimeToWrapUp');
		this.#times.set({ timeToWrapUp: ms });
	}

	shutdown(reason?: unknown, options?: ShutdownOptions): Promise<ShutdownReport> {
		assertOptions('options', options, ['exitCode']);
		// `null` is bad input, not "unset".
		const exitCode = options?.exitCode === undefined ? 0 : options.exitCode;
		assertNumber('options.exitCode', exitCode, { integer: true, max: 255, maxWhy: ' (an exit code)' });
		return this.#start(reason, exitCode, false);
	}

	/** `run()`: a non-zero code means its main failed. Kept for copies of `run()` older than `shutdown()`'s options. */
	[kShutdownWithCode](reason: unknown, exitCode: number): Promise<ShutdownReport> {
		return this.#start(reason, 0, exitCode !== 0);
	}

	/**
	 * Makes this proc's wait functions: one small bound function per listener (see waitFunctions). Made with the
	 * first listener, not with the proc: the process-wide proc is made when the package is imported.
	 */
	#waitFor: ((entry: ListenerEntry) => WaitFunction) | undefined;

	#add(phase: Phase, fn: Listener, options: ListenerOptions | undefined): WaitFunction {
		const entry = this.#listeners.add(phase, fn, options);
		const state = this.#state;
		// Once the sequence has ended, the process is Node's again: a late listener runs but installs nothing.
		if (state !== 'done' && state !== 'forced') {
			this.#router.install();
			this.#watchdog.armSoon();
			this.#readSendersSoon();
		}
		if (state !== 'running' && (phase === 'wrap-up' || state !== 'wrapping-up')) {
			// Added during shutdown: called at once and awaited (go-zero's late listeners never ran).
			this.#listeners.call(entry, this.#sequence!.reason, this.#sequence!.deadline);
		}

		return (this.#waitFor ??= waitFunctions((entry) => this.#remove(entry)))(entry);
	}

	#remove(entry: ListenerEntry): boolean {
		if (!this.#listeners.remove(entry)) return false;
		if (this.#listeners.registered === 0 && this.#state === 'running') {
			// The watchdog first, while our handlers still catch what arrives (see Watchdog.release).
			this.#watchdog.release();
			this.#router.uninstall();
		}
		return true;
	}

	#onSignal(name: string): void {
		const sequence = this.#sequence;
		const now = Date.now();
		const seen = this.#watchdog.arrivals(name);
		const arrivedAt = arrivalOf(now, seen);
		log('received %s in state %s', name, this.#state);
		if (sequence === undefined) {
			// A person at a terminal learns what the stop waits for before the listeners print anything.
			if (this.#process === globalThis.process) writeTerminalNotice(name, this.#listeners.entries, arrivedAt + this.timeToForceQuit - now);
			// The deadline counts from the signal's arrival, not from when a busy loop got round to it.
			this.#start(name, 0, false, arrivedAt);
			this.#firstSignal(this.#sequence!, name, arrivedAt, now, Date.now());
			return;
		}
		if (this.#state === 'done' || this.#state === 'forced') {
			// Ended, and waiting for stdout to take the last lines: a second Ctrl+C means "now".
			if (sequence.exitNow === undefined) return;
			recordSignal(sequence, name);
			if (!this.#isDuplicate(sequence, name, now, seen)) sequence.exitNow();
			return;
		}
		// The sequence was started by hand; this is the first signal, and it joins it.
		if (sequence.firstSignalAt === undefined) return this.#firstSignal(sequence, name, arrivedAt, now, now);
		recordSignal(sequence, name);
		if (this.#isDuplicate(sequence, name, now, seen)) return;
		log('forced by a repeated %s', name);
		this.#force('signal');
	}

	/** `takenAt`: when its handler began; `handledAt`: when it returned. */
	#firstSignal(sequence: Sequence, name: string, arrivedAt: number, takenAt: number, handledAt: number): void {
		recordFirstSignal(sequence, { name, arrivedAt, handledAt });
		// Open until the loop has polled once more: a signal waiting then is read before the second immediate runs.
		// The timer closes it sooner when timers of the application run first (they may keep the loop busy
		// meanwhile, and a signal arriving then is not one that waited for the first signal's handler). Node counts
		// a timer from the loop's clock, which stood still while the handler ran: its delay makes up for that, so
		// that it comes due a millisecond after the handler returned. Neither is unref'd: with nothing but unref'd
		// callbacks pending, the poll would wait, and the turn stay open until the next event, a repeat too.
		sequence.firstSignalTurn = true;
		const close = () => (sequence.firstSignalTurn = false);
		const timer = setTimeout(close, Math.max(0, handledAt - takenAt) + 1);
		setImmediate(() => setImmediate(() => (close(), clearTimeout(timer))));
	}

	#isDuplicate(sequence: Sequence, name: string, now: number, seen: ReturnType<ProcWatchdog['arrivals']>): boolean {
		const senders = this.#senders();
		const duplicate = isDuplicate(sequence, { name, now }, seen, senders && sendersNow(senders));
		if (log.enabled) log('%s is %s (senders: %s)', name, duplicate ? 'a copy of the first' : 'a repeat', senders?.sender ?? 'not known');
		return duplicate;
	}

	/**
	 * Who may send this process copies of a signal (see signal-senders.ts): the real process's, on Linux, read in
	 * an idle moment after the handlers are installed (about 0.1 ms), or at the first repeat if none came yet.
	 */
	#senders(): SignalSenders | undefined {
		return this.#process === globalThis.process ? signalSenders() : undefined;
	}

	#readSendersSoon(): void {
		if (this.#sendersSoon || this.#process !== globalThis.process) return;
		this.#sendersSoon = true;
		setImmediate(() => this.#senders()).unref?.();
	}
	#sendersSoon = false;

	/**
	 * The watchdog's call at the deadline, made through the inspector from inside whatever blocks this thread.
	 * `signal`/`arrivedAt`: the first signal the watchdog saw, for a sequence that a loop blocked before the
	 * handler could run never started.
	 */
	#onWatchdogDeadline(signal: string | null, arrivedAt: number | null, exitCode: number): void {
		if (this.#state === 'done' || this.#state === 'forced') {
			// The report is out; what runs after it (onReport, the logger, flushing output) outlived the deadline.
			this.#process.exit(exitCode);
			return;
		}
		// No listener is called from here: they would run inside the code that blocks the loop.
		if (this.#sequence === undefined) this.#start(signal ?? 'deadline', 0, false, arrivedAt ?? Date.now(), false);
		this.#force('blocked', true);
	}

	/** The logger, called so that nothing it throws or rejects with can break the sequence. */
	#log(message: string): void {
		writeLog(this.#options.logger, message);
	}

	#onError(error: unknown, kind: 'uncaughtException' | 'unhandledRejection'): void {
		this.#log(`graceful-proc: ${kind}${this.#state === 'running' ? ', shutting down' : ' during shutdown'}: ${describeError(error, { stack: true })}`);
		if (this.#sequence === undefined) this.#start(error, 0, true);
		else this.#sequence.failed = true;
	}

	/** `at`: when the trigger happened (a signal's arrival); `call`: false when the watchdog ends it at once. */
	#start(reason: unknown, exitCode: number, failed: boolean, at = Date.now(), call = true): Promise<ShutdownReport> {
		if (this.#sequence) return joinSequence(this.#sequence, { exitCode, failed, ended: this.#state === 'done' || this.#state === 'forced' });
		const sequence = createSequence({ reason, startedAt: at, deadline: at + this.timeToForceQuit, exitCode, failed });
		const promise = sequence.promise;
		this.#sequence = sequence;
		log('shutdown started (reason: %s), force-quit in %d ms', describeError(reason), this.timeToForceQuit);
		// Keeps the shutdown alive: listeners may await promises that hold nothing in the event loop.
		sequence.forceTimer = setTimeout(() => this.#force('deadline'), Math.max(0, sequence.deadline - Date.now()));
		this.#router.install();
		// Already running since the handlers were installed: this only tells it the deadline.
		this.#watchdog.setDeadline(sequence.deadline);
		if (!call) return promise;

		this.#state = 'wrapping-up';
		this.#abort.abort(reason);
		this.#listeners.callPhase('wrap-up', reason, sequence.deadline);
		const wrapUpTimer = setTimeout(() => this.#enterShutdownPhase(), this.timeToWrapUp);
		wrapUpTimer.unref?.();
		sequence.wrapUpTimer = wrapUpTimer;
		this.#advance();
		return promise;
	}

	#advance(): void {
		const running = this.#listeners.running;
		if (this.#state === 'wrapping-up') {
			if (running['wrap-up'] === 0) this.#enterShutdownPhase();
		} else if (this.#state === 'shutting-down' && running['wrap-up'] === 0 && running.shutdown === 0) {
			this.#finish();
		}
	}

	#enterShutdownPhase(): void {
		if (this.#state !== 'wrapping-up') return;
		clearTimeout(this.#sequence!.wrapUpTimer);
		this.#state = 'shutting-down';
		log('shutdown phase');
		this.#listeners.callPhase('shutdown', this.#sequence!.reason, this.#sequence!.deadline);
		this.#advance();
	}

	/** The report of this sequence; `listeners`: every listener's row unless given. */
	#report(outcome: ShutdownReport['outcome'], exitCode: number, forcedBy?: ForcedBy, listeners = listenerRows(this.#listeners.entries, outcome === 'forced')!): ShutdownReport {
		return buildReport({ sequence: this.#sequence!, outcome, exitCode, forcedBy, listeners, process: this.#process });
	}

	/**
	 * The exit code: one asked for with `shutdown(reason, { exitCode })`, else a non-zero `process.exitCode`
	 * the application set, else 1 for a failure and 0 for a clean end.
	 */
	#exitCode(failure: boolean): number {
		return exitCodeOf(this.#sequence!, appExitCode(this.#process), failure);
	}

	#finish(): void {
		const sequence = this.#sequence!;
		this.#watchdog.reporting();
		const failed = endsFailed(sequence, this.#listeners.failures);
		this.#state = 'done';
		this.#end({ report: this.#report(failed ? 'failed' : 'clean', this.#exitCode(failed)), atOnce: false });
	}

	/** Ends the sequence before its listeners did: `forcedBy` says why; `now`: from inside a blocked loop, exit at once (#endBlocked). */
	#force(forcedBy: ForcedBy, now = false): void {
		if (this.#state === 'done' || this.#state === 'forced') return;
		const sequence = this.#sequence!;
		// Building the report is bounded work that the watchdog lets finish before any SIGKILL.
		this.#watchdog.reporting();
		this.#state = 'forced';
		log('forced by %s', forcedBy);
		if (now) return this.#endBlocked(forcedBy);
		const report = this.#report('forced', this.#exitCode(true), forcedBy);
		this.#listeners.forceQuit(Date.now() - sequence.startedAt);
		this.#end({ report, atOnce: false });
	}

	/**
	 * The forced end that the watchdog calls from inside a blocked loop. Code run from there is slow (one pass
	 * over 100,000 listeners measured 200-300 ms there, against a few ms from a timer), so what must get out
	 * comes first and costs O(1): the termination message and the summary, from the counters and the first
	 * listeners that did not end well. The full report is built only for an `onReport` that wants it, and only
	 * while it cannot take the process past a second after the deadline. Nothing can observe the waits and
	 * signals of listeners any more, so they are left as they are.
	 */
	#endBlocked(forcedBy: ForcedBy): void {
		const sequence = this.#sequence!;
		const exitCode = this.#exitCode(true);
		const { listeners, omitted } = briefRows(this.#listeners);
		const brief = this.#report('forced', exitCode, forcedBy, listeners);
		const finalReport = () => {
			const all = listenerRows(this.#listeners.entries, true, sequence.deadline + BLOCKED_REPORT_MS);
			if (all) return this.#report('forced', exitCode, forcedBy, all);
			log('no time left to name every listener: onReport gets the brief report');
			return brief;
		};
		this.#end({ report: brief, omitted, finalReport, atOnce: true });
	}

	#end(leaving: Leaving): void {
		leave(this.#sequence!, leaving, {
			process: this.#process,
			options: this.#options,
			log: (message) => this.#log(message),
			ending: (exitCode) => this.#watchdog.ending(exitCode),
			uninstall: () => this.#router.uninstall(),
		});
	}
}

// What the public methods throw at their call (bad arguments, configure() once shutdown started) points at the caller.
methodsAtCallSite(ProcImpl.prototype, ['addWrapUpListener', 'addShutdownListener', 'setTimeToForceQuit', 'setTimeToWrapUp', 'configure', 'shutdown']);

/** An isolated proc with its own listeners, timings and process. */
export function createProc(options?: ProcOptions): Proc {
	return new ProcImpl(options);
}
