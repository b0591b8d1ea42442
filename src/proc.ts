/**
 * A proc: the core's public API (listeners, times, `shutdown()`, `configure()`) around the shutdown sequence,
 * whose states and transitions are one block below. What the block uses has a module each: the sequence's record
 * and rules, the listener table, the report, the way out, the settings (options, signal router, times), and the
 * watchdog's side of the proc.
 */
import { createDebug } from './debug.js';
import { describeError } from './describe-error.js';
import { type Leaving, leave } from './exit.js';
import { type ListenerEntry, waitFunctions } from './listener-entry.js';
import { FinalListeners } from './final-listeners.js';
import { ListenerTable } from './listeners.js';
import { writeLog } from './logger.js';
import { assertListener, assertProcessLike, PROC_OPTIONS, shutdownExitCode } from './proc-options.js';
import { ProcSettings } from './proc-settings.js';
import { ProcWatchdog } from './proc-watchdog.js';
import { RepeatJudge } from './repeat-judge.js';
import { blockedReports, forcedReport, type ReportSource, settledReport } from './report.js';
import { createSequence, joinSequence, kShutdownWithCode, recordSignal, type Sequence, type Trigger } from './sequence.js';
import { OBSERVE_SEQUENCE, type SequenceObserver, SequenceObservers } from './sequence-observer.js';
import { SIGNALS_HANDLED } from './signals.js';
import { kRegisteredNames } from './testing-protocol.js';
import { writeTerminalNotice } from './terminal-notice.js';
import { RESERVE_TIME } from './time-budget.js';
import { Tracker } from './tracker.js';
import type { FinalListener, ForcedBy, Listener, ListenerOptions, Phase, Proc, ProcessLike, ProcOptions, ProcState, ShutdownOptions, ShutdownReport, TrackedUnit, TrackOptions, WaitFunction } from './types.js';
import { methodsAtCallSite } from './call-site.js';
import { assertDuration, assertOptions } from './validate.js';

const log = createDebug('proc');

export class ProcImpl implements Proc {
	readonly #process: ProcessLike;
	readonly #settings: ProcSettings;
	#state: ProcState = 'running';
	readonly #abort = new AbortController();
	readonly #listeners = new ListenerTable(() => this.#advance('settled'));
	#sequence: Sequence | undefined;
	readonly #watchdog: ProcWatchdog;
	readonly #repeats: RepeatJudge;
	/** Told at every transition and settlement (sequence-observer.ts): systemd's STATUS lines follow the sequence so. */
	readonly #observers = new SequenceObservers(() => this.#sequence && { state: this.#state, reason: this.#sequence.reason, deadline: this.#sequence.deadline, listeners: this.#listeners.entries, finalListeners: this.#finals.size });
	readonly #finals = new FinalListeners();

	constructor(options: ProcOptions = {}) {
		assertOptions('options', options, PROC_OPTIONS);
		const proc = options.process ?? globalThis.process;
		assertProcessLike('options.process', proc);
		this.#process = proc;
		this.#repeats = new RepeatJudge(proc);
		const host = { process: proc, running: () => this.#state === 'running', log: (message: string) => this.#log(message) };
		this.#watchdog = new ProcWatchdog({
			...host,
			options: () => this.#settings.options,
			router: () => this.#settings.router,
			timeToForceQuit: () => this.timeToForceQuit,
			onDeadline: (signal, arrivedAt, exitCode) => this.#onWatchdogDeadline(signal, arrivedAt, exitCode),
			makeProc: (options) => new ProcImpl(options),
		});
		const handlers = { onSignal: (name: string) => this.#onSignal(name), onError: (error: unknown, kind: 'uncaughtException' | 'unhandledRejection') => this.#onError(error, kind) };
		this.#settings = new ProcSettings({ ...host, ...handlers, watchdog: this.#watchdog }, options);
	}

	/** How the process-wide proc gets `handleErrors`, `logger`, `onReport` and the rest (see ProcSettings). */
	configure(options: Omit<ProcOptions, 'process'>): void {
		this.#settings.configure(options);
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
		return this.#settings.times.timeToForceQuit;
	}

	get timeToWrapUp(): number {
		return this.#settings.times.timeToWrapUp;
	}

	/** For drain() and supervise(): how long a listener they register may rightly take. Returns the release. */
	[RESERVE_TIME](phase: Phase, ms: number, who: string): () => void {
		return this.#settings.reserve(phase, ms, who);
	}

	/** For graceful-proc/nest: the process this proc runs on, and the signals that start its sequence. */
	[SIGNALS_HANDLED](): { process: ProcessLike; signals: readonly string[] } {
		return { process: this.#process, signals: this.#settings.router.signalsToHandle() };
	}

	addWrapUpListener(fn: Listener, options?: ListenerOptions): WaitFunction {
		assertListener('fn', fn, options);
		return this.#add('wrap-up', fn, options);
	}

	addShutdownListener(fn: Listener, options?: ListenerOptions): WaitFunction {
		assertListener('fn', fn, options);
		return this.#add('shutdown', fn, options);
	}

	/** The last step (final-listeners.ts): called with the report, in a slice of the deadline of its own. */
	addFinalListener(fn: FinalListener, options?: { name?: string }): () => boolean {
		return this.#finals.add(fn, options);
	}

	/** Tracked work (tracker.ts): units the wrap-up phase waits for; none starts once the sequence has. Made on first use. */
	#tracker: Tracker | undefined;

	track<T>(fn: (unit: TrackedUnit) => T | PromiseLike<T>, options?: TrackOptions): Promise<Awaited<T>> {
		this.#tracker ??= new Tracker({ proc: this, reserve: (phase, ms, who) => this.#settings.reserve(phase, ms, who), forcedBefore: this.#finalSlice });
		return this.#tracker.track(fn, options);
	}

	setTimeToForceQuit(ms: number): void {
		assertDuration('ms', ms);
		this.#settings.setTimes('setTimeToForceQuit', { timeToForceQuit: ms });
	}

	setTimeToWrapUp(ms: number): void {
		assertDuration('ms', ms);
		this.#settings.setTimes('setTimeToWrapUp', { timeToWrapUp: ms });
	}

	shutdown(reason?: unknown, options?: ShutdownOptions): Promise<ShutdownReport> {
		return this.#trigger({ reason, exitCode: shutdownExitCode(options) });
	}

	/** `run()`'s end: a non-zero code means its main failed (see kShutdownWithCode). */
	[kShutdownWithCode](reason: unknown, exitCode: number): Promise<ShutdownReport> {
		return this.#trigger({ reason, failed: exitCode !== 0 });
	}

	[OBSERVE_SEQUENCE](observer: SequenceObserver): () => void {
		this.#listeners.tellEach = true;
		return this.#observers.add(observer);
	}

	/** Makes wait functions (see waitFunctions); made with the first listener, not at import with the proc. */
	#waitFor: ((entry: ListenerEntry) => WaitFunction) | undefined;

	#add(phase: Phase, fn: Listener, options: ListenerOptions | undefined): WaitFunction {
		const entry = this.#listeners.add(phase, fn, options);
		// Once the sequence has ended, the process is Node's again: a late listener runs but installs nothing.
		if (!this.#ended) {
			this.#settings.listening();
			this.#repeats.readSoon();
		}
		// Added during shutdown: called at once and awaited (go-zero's late listeners never ran); a shutdown
		// listener added while wrapping up waits for its phase.
		const state = this.#state;
		if (state !== 'running' && (phase === 'wrap-up' || state !== 'wrapping-up')) this.#listeners.call(entry, this.#sequence!.reason, this.#sequence!.deadline);
		return (this.#waitFor ??= waitFunctions((entry) => this.#remove(entry)))(entry);
	}

	#remove(entry: ListenerEntry): boolean {
		if (!this.#listeners.remove(entry)) return false;
		if (this.#listeners.registered === 0 && this.#state === 'running') this.#settings.idle();
		return true;
	}

	/** For the testing kit: what a test would take from the real process by faking it (see use-fake-process.ts). */
	get [kRegisteredNames](): string[] {
		return this.#listeners.registeredNames();
	}

	get #ended(): boolean {
		return this.#state === 'done' || this.#state === 'forced';
	}

	/** The part of the deadline kept for the final listeners (0 without any). */
	#finalSlice = (): number => this.#finals.slice(this.#settings.options.timeForFinal, this.timeToForceQuit);

	// ── The sequence: every state and transition ─────────────────────────────────────────────────────────────
	// running ─#trigger→ wrapping-up ─#advance: wrap-up settled, or timeToWrapUp→ shutting-down ─#advance→ done
	// before done ─#force: the deadline's timer, a repeat in #onSignal, a blocked loop in #onWatchdogDeadline→ forced
	// done or forced (but blocked) ─#endAfterFinal→ the final listeners, then the way out

	#trigger({ reason, exitCode = 0, failed = false, at = Date.now(), callListeners = true }: Trigger): Promise<ShutdownReport> {
		if (this.#sequence) return joinSequence(this.#sequence, { exitCode, failed, ended: this.#ended });
		const sequence = (this.#sequence = createSequence({ reason, startedAt: at, deadline: at + this.timeToForceQuit, exitCode, failed }));
		log('shutdown started (reason: %s), force-quit in %d ms', describeError(reason), this.timeToForceQuit);
		// With final listeners, the others are forced when only the last step's slice is left.
		const forceAt = sequence.deadline - this.#finalSlice();
		sequence.forceTimer = setTimeout(() => this.#force('deadline'), Math.max(0, forceAt - Date.now()));
		this.#settings.router.install();
		sequence.foreignHandlers = this.#settings.checkForeignHandlers();
		this.#watchdog.setDeadline(sequence.deadline);
		if (!callListeners) return sequence.promise;
		this.#state = 'wrapping-up';
		this.#abort.abort(reason);
		this.#listeners.callPhase('wrap-up', reason, sequence.deadline);
		sequence.wrapUpTimer = setTimeout(() => this.#advance('wrap-up time is up'), this.timeToWrapUp);
		sequence.wrapUpTimer.unref?.();
		this.#advance('settled');
		return sequence.promise;
	}

	#advance(why: 'settled' | 'wrap-up time is up'): void {
		this.#observers.notify();
		const { running } = this.#listeners;
		if (this.#state === 'wrapping-up' && (why === 'wrap-up time is up' || running['wrap-up'] === 0)) {
			clearTimeout(this.#sequence!.wrapUpTimer);
			this.#state = 'shutting-down';
			this.#listeners.callPhase('shutdown', this.#sequence!.reason, this.#sequence!.deadline);
		}
		if (this.#state !== 'shutting-down' || running['wrap-up'] + running.shutdown > 0) return;
		this.#state = 'done';
		this.#endAfterFinal(settledReport(this.#reporting()));
	}

	#force(forcedBy: ForcedBy): void {
		// Ended: nothing forces it any more, but a loop blocked before the report was built (the watchdog's hook).
		if (this.#ended && (forcedBy !== 'blocked' || this.#sequence!.reportedCode !== undefined)) return;
		this.#state = 'forced';
		this.#observers.notify();
		log('forced by %s', forcedBy);
		if (forcedBy === 'blocked') return this.#end({ ...blockedReports(this.#reporting()), atOnce: true });
		const report = forcedReport(this.#reporting(), forcedBy);
		this.#listeners.forceQuit(Date.now() - this.#sequence!.startedAt);
		this.#endAfterFinal(report);
	}

	#onSignal(name: string): void {
		// The clock first: what a repeat is judged by. Logging may load `debug` (tens of ms on a loaded machine).
		const { now, seen, arrivedAt } = this.#watchdog.arrival(name);
		log('received %s in state %s', name, this.#state);
		const sequence = this.#sequence;
		if (sequence === undefined) {
			// A person at a terminal learns what the stop waits for before the listeners print anything.
			if (this.#process === globalThis.process) writeTerminalNotice(name, this.#listeners.entries, arrivedAt + this.timeToForceQuit - now);
			// The deadline counts from the signal's arrival, not from when a busy loop got round to it.
			this.#trigger({ reason: name, at: arrivedAt });
			return this.#repeats.firstSignal(this.#sequence!, name, arrivedAt, now, Date.now());
		}
		if (sequence.firstSignalAt === undefined && !this.#ended) return this.#repeats.firstSignal(sequence, name, arrivedAt, now, now);
		// Once ended, a repeat matters only while the way out waits for stdout and stderr: it means "now".
		if (this.#ended && sequence.exitNow === undefined) return;
		recordSignal(sequence, name);
		if (this.#repeats.isDuplicate(sequence, name, now, seen)) return;
		if (this.#ended) sequence.exitNow!(name);
		else this.#force('signal');
	}

	#onWatchdogDeadline(signal: string | null, arrivedAt: number | null, exitCode: number): void {
		// The report is built; what runs after it (final listeners, onReport, the logger, output) outlived the deadline.
		if (this.#sequence?.reportedCode !== undefined) return void this.#process.exit(exitCode);
		// A loop blocked before any handler ran: the first signal the watchdog saw starts the sequence, calling no listener.
		if (this.#sequence === undefined) this.#trigger({ reason: signal ?? 'deadline', at: arrivedAt ?? Date.now(), callListeners: false });
		this.#force('blocked');
	}

	// ── What the transitions use ─────────────────────────────────────────────────────────────────────────────

	#onError(error: unknown, kind: 'uncaughtException' | 'unhandledRejection'): void {
		this.#log(`graceful-proc: ${kind}${this.#state === 'running' ? ', shutting down' : ' during shutdown'}: ${describeError(error, { stack: true })}`);
		if (this.#sequence === undefined) void this.#trigger({ reason: error, failed: true });
		else this.#sequence.failed = true;
	}

	/** What the report is made from. Building it is bounded work that the watchdog lets finish before any SIGKILL. */
	#reporting(): ReportSource {
		this.#watchdog.reporting();
		return { table: this.#listeners, sequence: this.#sequence!, process: this.#process };
	}

	/** The last step, if there is one, with the report and until the deadline; then the way out. */
	#endAfterFinal(report: ShutdownReport): void {
		if (this.#finals.size === 0) return this.#end({ report, atOnce: false });
		// Application code from here: the watchdog holds it to the deadline.
		this.#watchdog.ending((this.#sequence!.reportedCode = report.exitCode));
		// A repeated signal cuts it, as it forces the other phases (#onSignal); the report's code stays.
		this.#finals.runIn(this.#sequence!, report, (message) => this.#log(message), () => this.#end({ report, atOnce: false }));
	}

	#end(leaving: Leaving): void {
		const { options, router } = this.#settings;
		leave(this.#sequence!, leaving, { process: this.#process, options, router, watchdog: this.#watchdog, log: (message) => this.#log(message) });
	}

	/** The logger, called so that nothing it throws or rejects with can break the sequence. */
	#log(message: string): void {
		writeLog(this.#settings.options.logger, message);
	}
}

// What the public methods throw at their call (bad arguments, configure() once shutdown started) points at the caller.
methodsAtCallSite(ProcImpl.prototype, ['addWrapUpListener', 'addShutdownListener', 'addFinalListener', 'track', 'setTimeToForceQuit', 'setTimeToWrapUp', 'configure', 'shutdown']);

/** An isolated proc with its own listeners, timings and process. */
export function createProc(options?: ProcOptions): Proc {
	return new ProcImpl(options);
}
