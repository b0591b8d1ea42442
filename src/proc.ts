import { createDebug } from './debug.js';
import { describeError } from './describe-error.js';
import { ForceQuitError, ListenerTimeoutError } from './errors.js';
import { flushStdio } from './flush-stdio.js';
import { Failure, ListenerContextImpl, ListenerEntry, waitFunctions } from './listener-entry.js';
import { assertSignalName, SignalRouter, type SignalRouterOptions } from './signals.js';
import { formatSummary, type Omitted } from './summary.js';
import { terminationLogPath, writeTerminationLog } from './termination-log.js';
import { pm2KillTimeout } from './pm2-env.js';
import { RESERVE_TIME, TimeBudget, TIMES_DO_NOT_FIT } from './time-budget.js';
import type {
	ForcedBy,
	Listener,
	ListenerOptions,
	ListenerOutcome,
	Logger,
	Phase,
	Proc,
	ProcessLike,
	ProcOptions,
	ProcState,
	ShutdownOptions,
	ShutdownReport,
	WaitFunction,
} from './types.js';
import { assertBoolean, assertDuration, assertFunction, assertNumber, assertOptions, assertString, expected } from './validate.js';
import { Watchdog } from './watchdog/watchdog.js';
import { writesPending } from './pending-writes.js';

const log = createDebug('proc');

/** A repeat of the first signal within this window is the same Ctrl+C delivered twice (terminal and npm). */
const DUPLICATE_SIGNAL_MS = 100;

/**
 * Lets `run()` start the sequence with an exit code floor without widening the public API. Registered, so that
 * `run()` of the CommonJS build finds it on a proc made by the ESM build (or another copy), and vice versa.
 */
export const kShutdownWithCode = Symbol.for('graceful-proc.shutdownWithCode');

const PROC_OPTIONS = [
	'process',
	'signals',
	'timeToForceQuit',
	'timeToWrapUp',
	'exit',
	'logger',
	'handleErrors',
	'onReport',
	'diagnosticReport',
	'pm2',
	'terminationLog',
] as const;
const LISTENER_OPTIONS = ['name', 'timeout'] as const;

interface Sequence {
	readonly reason: unknown;
	readonly startedAt: number;
	readonly deadline: number;
	readonly promise: Promise<ShutdownReport>;
	resolve(report: ShutdownReport): void;
	/** The code asked for with `shutdown(reason, { exitCode })`; 0 when none was. */
	exitCode: number;
	/** Started by a failure (`run()`'s main threw, an uncaught error): exit code 1 unless another is set. */
	failed: boolean;
	firstSignalAt: number | undefined;
	/** Signals handled since the first (the first included): the n-th is a duplicate if n arrived within the window. */
	signalsHandled: number;
	/** When the first signal's handler returned (the wrap-up listeners' synchronous work included). */
	firstSignalDoneAt?: number;
	forceTimer?: ReturnType<typeof setTimeout>;
	wrapUpTimer?: ReturnType<typeof setTimeout>;
	/** Listeners called and not yet settled, per phase: settling one is O(1), however many there are. */
	readonly running: Record<Phase, number>;
	/** Listeners that threw, rejected or timed out, and of those, timed out. */
	failures: number;
	timeouts: number;
	/** Set while the ended sequence waits for stdout and stderr: a repeated signal exits at once. */
	exitNow?: () => void;
}

/** How many listeners a forced end inside a blocked loop names; the summary and the termination message count the rest. */
const BRIEF_LISTENERS = 200;

/** Until when past the deadline a forced end inside a blocked loop may build the full report for onReport. */
const BLOCKED_REPORT_MS = 700;

/** After the deadline (a forced exit), how long stdout and stderr may still take to take the summary. */
const FLUSH_GRACE_MS = 250;

/** Errors as `{ name, message }`; anything JSON cannot hold (a BigInt, a cycle, a hostile Proxy) as text. */
function errorToJSON(error: unknown): unknown {
	try {
		if (error instanceof Error) return { name: describeError(error.name), message: describeError(error.message) };
		JSON.stringify(error);
		return error;
	} catch {
		return describeError(error);
	}
}

/** The application's own `process.exitCode`, when it set a non-zero one. */
function appExitCode(process: ProcessLike): number {
	try {
		const raw = process.exitCode;
		const code = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
		return typeof code === 'number' && Number.isInteger(code) ? code : 0;
	} catch {
		return 0;
	}
}

/** Whatever a hook returns: a rejected promise must not become an unhandled rejection. */
function absorb(result: unknown, onRejected: (error: unknown) => void): void {
	try {
		if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as PromiseLike<unknown>).then === 'function') {
			(result as PromiseLike<unknown>).then(undefined, onRejected);
		}
	} catch {}
}

function reportToJSON(this: ShutdownReport) {
	return {
		...this,
		reason: errorToJSON(this.reason),
		listeners: this.listeners.map((listener) => ('error' in listener ? { ...listener, error: errorToJSON(listener.error) } : listener)),
	};
}

function isProcessLike(value: unknown): value is ProcessLike {
	const p = value as ProcessLike;
	return (
		p !== null &&
		typeof p === 'object' &&
		typeof p.on === 'function' &&
		typeof p.removeListener === 'function' &&
		typeof p.kill === 'function' &&
		typeof p.exit === 'function' &&
		typeof p.pid === 'number'
	);
}

const stderrLogger: Logger = {
	error(message) {
		globalThis.process?.stderr?.write(`${message}\n`);
	},
};

function validateListener(argument: string, fn: unknown, options: ListenerOptions | undefined): void {
	assertFunction(argument, fn);
	assertOptions('options', options, LISTENER_OPTIONS);
	if (options?.name !== undefined) assertString('options.name', options.name);
	if (options?.timeout !== undefined) assertDuration('options.timeout', options.timeout);
}

/**
 * The state machine: running → wrapping-up → shutting-down → done, or → forced at the deadline or on a
 * repeated signal. Everything else (signals, watchdog, report text) lives in its own module.
 */
export class ProcImpl implements Proc {
	readonly #process: ProcessLike;
	#exit = true;
	#logger: Logger | false = stderrLogger;
	#onReport: ((report: ShutdownReport) => void) | undefined;
	/** Where the termination message goes when the sequence ends; undefined: nowhere. */
	#terminationLog: string | undefined;
	#router: SignalRouter;
	readonly #times = new TimeBudget((message) => this.#warn(message));
	#state: ProcState = 'running';
	#abort = new AbortController();
	/** Registration order, which is the report's order; a Set so that removing is O(1). */
	#entries = new Set<ListenerEntry>();
	#registered = 0;
	#counters: Record<Phase, number> = { 'wrap-up': 0, shutdown: 0 };
	#sequence: Sequence | undefined;
	/** The force-quit watchdog: undefined until the handlers are installed, null where none can run. */
	#watchdog: Watchdog | null | undefined;

	constructor(options: ProcOptions = {}) {
		assertOptions('options', options, PROC_OPTIONS);
		const proc = options.process ?? globalThis.process;
		if (!isProcessLike(proc)) {
			throw new TypeError(expected('options.process', 'a process-like object (on, removeListener, kill, exit, pid)', proc));
		}
		this.#process = proc;
		// PM2 SIGKILLs an app kill_timeout ms after its stop signal: unset times fit inside it, set ones are checked.
		const pm2Kill = proc === globalThis.process ? pm2KillTimeout() : undefined;
		if (pm2Kill !== undefined) {
			this.#times.setOutsideKill({ ms: pm2Kill, who: 'PM2 (kill_timeout)', fix: (ms) => `set kill_timeout to ${ms} or more in the ecosystem file (or pm2 start --kill-timeout ${ms})` });
		}
		this.#router = this.#configure(options, {});
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
		const router = this.#configure(options, this.#routerOptions);
		// The signals or `exit` may change: the watchdog lets go first, while the handlers still catch what
		// arrives (see Watchdog.release), and follows the handlers as they are now.
		this.#disarmWatchdog();
		this.#router.uninstall();
		this.#router = router;
		if (wasInstalled) router.install();
		if (wasInstalled) this.#armWatchdogSoon();
	}

	#routerOptions: Partial<SignalRouterOptions> = {};

	/** Validates everything before changing anything, then applies; returns the signal router to use. */
	#configure(options: Omit<ProcOptions, 'process'>, current: Partial<SignalRouterOptions>): SignalRouter {
		// `null` is bad input, not "unset": only `undefined` falls back to the current value.
		const pick = <T,>(value: T | undefined, fallback: T): T => (value === undefined ? fallback : value);
		// Left undefined, the defaults are resolved when the handlers are installed (nodemon adds SIGUSR2).
		const signals = pick(options.signals, current.signals);
		if (options.signals !== undefined) {
			if (!Array.isArray(signals)) throw new TypeError(expected('options.signals', 'an array of signal names', signals));
			signals.forEach((name, index) => assertSignalName(`options.signals[${index}]`, name));
		}
		if (options.timeToForceQuit !== undefined) assertDuration('options.timeToForceQuit', options.timeToForceQuit);
		if (options.timeToWrapUp !== undefined) assertDuration('options.timeToWrapUp', options.timeToWrapUp);
		const exit = pick(options.exit, this.#exit);
		assertBoolean('options.exit', exit);
		const handleErrors = pick(options.handleErrors, current.handleErrors ?? false);
		assertBoolean('options.handleErrors', handleErrors);
		const pm2 = pick(options.pm2, current.pm2 ?? true);
		assertBoolean('options.pm2', pm2);
		const logger = pick(options.logger, this.#logger);
		if (logger !== false && (logger === null || typeof logger !== 'object' || typeof logger.error !== 'function')) {
			throw new TypeError(expected('options.logger', 'an object with an `error(message)` method, or false', logger));
		}
		if (options.onReport !== undefined) assertFunction('options.onReport', options.onReport);
		const terminationLog =
			options.terminationLog === undefined ? this.#terminationLog : terminationLogPath('options.terminationLog', options.terminationLog);
		const diagnostic = options.diagnosticReport;
		let diagnosticSignal = current.diagnosticSignal;
		if (diagnostic === true) diagnosticSignal = 'SIGUSR2';
		else if (diagnostic === false) diagnosticSignal = undefined;
		else if (typeof diagnostic === 'string') {
			assertSignalName('options.diagnosticReport', diagnostic);
			diagnosticSignal = diagnostic;
		} else if (diagnostic !== undefined) {
			throw new TypeError(expected('options.diagnosticReport', 'a boolean or a signal name', diagnostic));
		}

		this.#times.set({ timeToForceQuit: options.timeToForceQuit, timeToWrapUp: options.timeToWrapUp });
		this.#watchdog?.setTimeToForceQuit(this.timeToForceQuit);
		this.#exit = exit;
		this.#logger = logger;
		if (options.onReport !== undefined) this.#onReport = options.onReport;
		this.#terminationLog = terminationLog;
		this.#routerOptions = { signals: signals && [...new Set(signals)], handleErrors, pm2, diagnosticSignal };
		return new SignalRouter({
			process: this.#process,
			signals: this.#routerOptions.signals,
			handleErrors,
			pm2,
			diagnosticSignal,
			onSignal: (name) => this.#onSignal(name),
			onError: (error, kind) => this.#onError(error, kind),
			onDiagnostic: () => this.#writeDiagnosticReport(),
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
		this.#watchdog?.setTimeToForceQuit(this.timeToForceQuit);
		return () => {
			release();
			this.#watchdog?.setTimeToForceQuit(this.timeToForceQuit);
		};
	}

	#warn(message: string): void {
		const emit = (this.#process as { emitWarning?: (message: string, options: { code: string }) => void }).emitWarning;
		if (typeof emit === 'function') emit.call(this.#process, message, { code: TIMES_DO_NOT_FIT });
		else log('%s', message);
	}

	/** A running sequence keeps the times it started with: changing them then would promise what it cannot keep. */
	#assertNotStarted(method: string): void {
		if (this.#state !== 'running') throw new Error(`graceful-proc: ${method}() is not possible once shutdown has started`);
	}

	addWrapUpListener(fn: Listener, options?: ListenerOptions): WaitFunction {
		validateListener('fn', fn, options);
		return this.#add('wrap-up', fn, options);
	}

	addShutdownListener(fn: Listener, options?: ListenerOptions): WaitFunction {
		validateListener('fn', fn, options);
		return this.#add('shutdown', fn, options);
	}

	setTimeToForceQuit(ms: number): void {
		assertDuration('ms', ms);
		this.#assertNotStarted('setTimeToForceQuit');
		this.#times.set({ timeToForceQuit: ms });
		this.#watchdog?.setTimeToForceQuit(this.timeToForceQuit);
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
		// An anonymous listener is numbered now; its name (`wrap-up#3`) is made when first needed.
		const number = (this.#counters[phase] += 1);
		const entry = new ListenerEntry(phase, fn, options?.timeout, options?.name ?? (fn.name || number));
		this.#entries.add(entry);
		this.#registered += 1;
		const state = this.#state;
		// Once the sequence has ended, the process is Node's again: a late listener runs but installs nothing.
		if (state !== 'done' && state !== 'forced') {
			this.#router.install();
			if (this.#watchdog?.armed !== true) this.#armWatchdogSoon();
		}
		if (log.enabled) log('added %s listener %s', phase, entry.name);

		if (state !== 'running' && (phase === 'wrap-up' || state !== 'wrapping-up')) {
			// Added during shutdown: called at once and awaited (go-zero's late listeners never ran).
			this.#call(entry);
		}

		return (this.#waitFor ??= waitFunctions((entry) => this.#remove(entry)))(entry);
	}

	#remove(entry: ListenerEntry): boolean {
		if (entry.status !== 'registered') return false;
		entry.status = 'removed';
		this.#entries.delete(entry);
		this.#registered -= 1;
		entry.removed();
		if (log.enabled) log('removed %s listener %s', entry.phase, entry.name);
		if (this.#registered === 0 && this.#state === 'running') {
			// The watchdog first, while our handlers still catch what arrives (see Watchdog.release).
			this.#disarmWatchdog();
			this.#router.uninstall();
		}
		return true;
	}

	#onSignal(name: string): void {
		const sequence = this.#sequence;
		const now = Date.now();
		// Where the watchdog watches the signals too, it saw when they arrived, even while this loop was busy.
		const seen = this.#router.signals.includes(name) ? this.#watchdog?.arrivals() : undefined;
		const arrivedAt = seen !== undefined && seen.count > 0 ? Math.min(now, seen.first) : now;
		log('received %s in state %s', name, this.#state);
		if (sequence === undefined) {
			// The deadline counts from the signal's arrival, not from when a busy loop got round to it.
			this.#start(name, 0, false, arrivedAt);
			this.#sequence!.firstSignalAt = arrivedAt;
			this.#sequence!.signalsHandled = 1;
			this.#sequence!.firstSignalDoneAt = Date.now();
			return;
		}
		if (this.#state === 'done' || this.#state === 'forced') {
			// Ended, and waiting for stdout to take the last lines: a second Ctrl+C means "now".
			if (sequence.exitNow && !this.#isDuplicate(sequence, now, seen)) sequence.exitNow();
			return;
		}
		if (sequence.firstSignalAt === undefined) {
			// The sequence was started by hand; this is the first signal, and it joins it.
			sequence.firstSignalAt = arrivedAt;
			sequence.signalsHandled = 1;
			sequence.firstSignalDoneAt = now;
			return;
		}
		if (this.#isDuplicate(sequence, now, seen)) return;
		log('forced by a repeated %s', name);
		this.#force('signal');
	}

	/**
	 * A repeat within DUPLICATE_SIGNAL_MS of the first signal's arrival is the same Ctrl+C delivered twice. When
	 * a listener kept the loop busy, the repeat is handled late; what counts is when it arrived. Signals are
	 * handled in the order they arrived, so the n-th handled one arrived within the window if the watchdog saw
	 * at least n arrive within it (and its first is the sequence's first). Where the watchdog cannot see
	 * arrivals (Node 24 and later, no watchdog), a repeat handled within the window after the first signal's
	 * handler returned may have arrived while that handler was still busy, and counts as a duplicate.
	 */
	#isDuplicate(sequence: Sequence, now: number, seen: ReturnType<Watchdog['arrivals']>): boolean {
		if (sequence.firstSignalAt === undefined) return false;
		const handled = (sequence.signalsHandled += 1);
		if (now - sequence.firstSignalAt < DUPLICATE_SIGNAL_MS) return true;
		if (seen !== undefined && seen.count >= handled && seen.first <= sequence.firstSignalAt + 10) return handled <= seen.inWindow;
		return sequence.firstSignalDoneAt !== undefined && now - sequence.firstSignalDoneAt < DUPLICATE_SIGNAL_MS;
	}

	/**
	 * Registering starts the watchdog, but not inside the call: making a worker thread takes the main thread about
	 * 3 ms (loading node:worker_threads, then the thread's setup), which the first `addShutdownListener()` would
	 * otherwise pay. It is made in the next idle moment instead, long before any shutdown in practice; a sequence
	 * that starts sooner makes it at once. One that was released is armed again at once: that is cheap.
	 */
	#armWatchdogSoon(): void {
		if (this.#watchdog !== undefined) return this.#armWatchdog();
		if (this.#armSoon !== undefined || !this.#exit || this.#process !== globalThis.process) return;
		this.#armSoon = setImmediate(() => {
			this.#armSoon = undefined;
			if (this.#state === 'running') this.#armWatchdog();
		});
		this.#armSoon.unref?.();
	}
	#armSoon: ReturnType<typeof setImmediate> | undefined;

	/**
	 * The watchdog is started with the signal handlers, so that it is booted and idle when shutdown starts and
	 * the shutdown pays nothing for it; only on the real process, which it may end, and never with `exit: false`.
	 */
	#armWatchdog(): void {
		if (this.#watchdog === null || !this.#exit || this.#process !== globalThis.process || !this.#router.installed) return;
		// One released a moment ago (its last listener was removed) is armed again rather than replaced.
		if (this.#watchdog?.rearm(this.#router.signals)) return;
		try {
			this.#watchdog =
				Watchdog.start({
					pid: this.#process.pid,
					signals: this.#router.signals,
					timeToForceQuit: this.timeToForceQuit,
					duplicateMs: DUPLICATE_SIGNAL_MS,
					onDeadline: (signal, arrivedAt, exitCode) => this.#onWatchdogDeadline(signal, arrivedAt, exitCode),
					onError: (error) => this.#watchdogFailed(error),
				}) ?? null;
			if (this.#watchdog) warmUpOnce(this.#watchdog);
		} catch (error) {
			this.#watchdog = null;
			this.#watchdogFailed(error);
		}
	}

	/** The handlers are gone (or about to change): the watchdog lets go of the signals, whose defaults apply again. */
	#disarmWatchdog(): void {
		this.#watchdog?.release();
	}

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
		const logger = this.#logger;
		if (!logger) return;
		try {
			absorb(logger.error(message), () => {});
		} catch {}
	}

	#onError(error: unknown, kind: 'uncaughtException' | 'unhandledRejection'): void {
		this.#log(`graceful-proc: ${kind}${this.#state === 'running' ? ', shutting down' : ' during shutdown'}: ${describeError(error, { stack: true })}`);
		if (this.#sequence === undefined) this.#start(error, 0, true);
		else this.#sequence.failed = true;
	}

	#watchdogFailed(error: unknown): void {
		this.#log(`graceful-proc: the force-quit watchdog could not start (${describeError(error)}); a blocked event loop would outlive the deadline`);
	}

	#writeDiagnosticReport(): void {
		try {
			const file = this.#process.report?.writeReport?.();
			this.#log(`graceful-proc: diagnostic report written${file ? ` to ${file}` : ''}`);
		} catch (error) {
			this.#log(`graceful-proc: diagnostic report failed: ${describeError(error)}`);
		}
	}

	/** `at`: when the trigger happened (a signal's arrival); `call`: false when the watchdog ends it at once. */
	#start(reason: unknown, exitCode: number, failed: boolean, at = Date.now(), call = true): Promise<ShutdownReport> {
		if (this.#sequence) {
			const sequence = this.#sequence;
			if (this.#state !== 'done' && this.#state !== 'forced') {
				// The first code asked for is the one kept; a failure can only make a clean end a failed one.
				if (sequence.exitCode === 0) sequence.exitCode = exitCode;
				sequence.failed ||= failed;
			}
			return sequence.promise;
		}
		const startedAt = at;
		let resolve!: (report: ShutdownReport) => void;
		const promise = new Promise<ShutdownReport>((res) => {
			resolve = res;
		});
		const sequence: Sequence = {
			reason,
			startedAt,
			deadline: startedAt + this.timeToForceQuit,
			promise,
			resolve,
			exitCode,
			failed,
			firstSignalAt: undefined,
			signalsHandled: 0,
			running: { 'wrap-up': 0, shutdown: 0 },
			failures: 0,
			timeouts: 0,
		};
		this.#sequence = sequence;
		log('shutdown started (reason: %s), force-quit in %d ms', describeError(reason), this.timeToForceQuit);
		// Keeps the shutdown alive: listeners may await promises that hold nothing in the event loop.
		sequence.forceTimer = setTimeout(() => this.#force('deadline'), Math.max(0, sequence.deadline - Date.now()));
		this.#router.install();
		// Already running since the handlers were installed: this only tells it the deadline.
		this.#armWatchdog();
		this.#watchdog?.setDeadline(sequence.deadline);
		if (!call) return promise;

		this.#state = 'wrapping-up';
		this.#abort.abort(reason);
		for (const entry of this.#entries) if (entry.phase === 'wrap-up' && entry.status === 'registered') this.#call(entry);
		const wrapUpTimer = setTimeout(() => this.#enterShutdownPhase(), this.timeToWrapUp);
		wrapUpTimer.unref?.();
		sequence.wrapUpTimer = wrapUpTimer;
		this.#advance();
		return promise;
	}

	#call(entry: ListenerEntry): void {
		const sequence = this.#sequence!;
		this.#registered -= 1;
		entry.status = 'running';
		const run = entry.start(Date.now());
		sequence.running[entry.phase] += 1;
		let result: Promise<unknown>;
		try {
			result = Promise.resolve(entry.fn(new ListenerContextImpl(sequence.reason, sequence.deadline, run)));
		} catch (error) {
			result = Promise.reject(error);
		}
		result.then(
			() => this.#settle(entry, 'ok'),
			(error: unknown) => this.#settle(entry, 'error', error),
		);
		if (entry.timeout !== undefined) {
			const ms = entry.timeout;
			// A timer of its own rather than p-timeout: p-timeout is not loaded unless health checks need it.
			run.timer = setTimeout(() => {
				const error = new ListenerTimeoutError(entry.name, ms);
				run.abort(error);
				this.#settle(entry, 'timeout', error);
			}, ms);
		}
	}

	#settle(entry: ListenerEntry, outcome: ListenerOutcome, error?: unknown): void {
		// After a forced exit the report is final; a late settlement changes nothing.
		if (entry.status !== 'running') return;
		const run = entry.run!;
		clearTimeout(run.timer);
		entry.status = outcome;
		run.durationMs = Date.now() - run.startedAt;
		const sequence = this.#sequence!;
		sequence.running[entry.phase] -= 1;
		if (outcome === 'ok') {
			entry.fulfil();
			if (log.enabled) log('%s listener %s finished in %d ms', entry.phase, entry.name, run.durationMs);
		} else {
			sequence.failures += 1;
			if (outcome === 'timeout') sequence.timeouts += 1;
			run.error = error;
			entry.fail(error);
			if (log.enabled) log('%s listener %s failed (%s) in %d ms: %s', entry.phase, entry.name, outcome, run.durationMs, describeError(error));
		}
		this.#advance();
	}

	#advance(): void {
		const sequence = this.#sequence;
		if (sequence === undefined) return;
		if (this.#state === 'wrapping-up') {
			if (sequence.running['wrap-up'] === 0) this.#enterShutdownPhase();
		} else if (this.#state === 'shutting-down' && sequence.running['wrap-up'] === 0 && sequence.running.shutdown === 0) {
			this.#finish();
		}
	}

	#enterShutdownPhase(): void {
		if (this.#state !== 'wrapping-up') return;
		clearTimeout(this.#sequence!.wrapUpTimer);
		this.#state = 'shutting-down';
		log('shutdown phase');
		for (const entry of this.#entries) if (entry.phase === 'shutdown' && entry.status === 'registered') this.#call(entry);
		this.#advance();
	}

	#report(
		outcome: ShutdownReport['outcome'],
		exitCode: number,
		forcedBy?: ForcedBy,
		listeners: ShutdownReport['listeners'] = this.#listenerReports(outcome === 'forced', Date.now())!,
	): ShutdownReport {
		const sequence = this.#sequence!;
		const now = Date.now();
		const forced = outcome === 'forced';
		const report: ShutdownReport = forced
			? { reason: sequence.reason, outcome, forcedBy, exitCode, durationMs: now - sequence.startedAt, listeners }
			: { reason: sequence.reason, outcome, exitCode, durationMs: now - sequence.startedAt, listeners };
		if (forced) {
			try {
				report.activeResources = this.#process.getActiveResourcesInfo?.() ?? [];
			} catch {
				report.activeResources = [];
			}
		}
		// Errors carry no enumerable fields: JSON.stringify(report) would print `{}` for each one.
		Object.defineProperty(report, 'toJSON', { value: reportToJSON, enumerable: false });
		return report;
	}

	/**
	 * One pass over the listeners, one small object each: 200,000 of them take milliseconds. Past `until`
	 * (epoch ms), checked every 1024 listeners, it gives up and returns undefined.
	 */
	#listenerReports(forced: boolean, now: number, until = Number.POSITIVE_INFINITY): ShutdownReport['listeners'] | undefined {
		const listeners: ShutdownReport['listeners'] = [];
		let count = 0;
		for (const entry of this.#entries) {
			if ((++count & 1023) === 0 && Date.now() > until) return undefined;
			const status = entry.status;
			if (status === 'registered') {
				// Never called: only a forced end leaves one behind.
				if (forced) listeners.push({ name: entry.name, phase: entry.phase, outcome: 'skipped', durationMs: 0 });
			} else if (status === 'running') {
				listeners.push({ name: entry.name, phase: entry.phase, outcome: 'pending', durationMs: now - entry.run!.startedAt });
			} else if (status !== 'removed') {
				// Settled, so called: it has its run record.
				const run = entry.run!;
				const listener: ShutdownReport['listeners'][number] = { name: entry.name, phase: entry.phase, outcome: status, durationMs: run.durationMs };
				if (run.error !== undefined) listener.error = run.error;
				listeners.push(listener);
			}
		}
		return listeners;
	}

	/**
	 * The exit code: one asked for with `shutdown(reason, { exitCode })`, else a non-zero `process.exitCode`
	 * the application set, else 1 for a failure and 0 for a clean end.
	 */
	#exitCode(failure: boolean): number {
		return this.#sequence!.exitCode || appExitCode(this.#process) || (failure ? 1 : 0);
	}

	#finish(): void {
		const sequence = this.#sequence!;
		this.#watchdog?.reporting();
		const failed = sequence.failures > 0 || sequence.failed || sequence.exitCode !== 0;
		this.#state = 'done';
		this.#end(this.#report(failed ? 'failed' : 'clean', this.#exitCode(failed)));
	}

	/** Ends the sequence before its listeners did: `forcedBy` says why; `now`: from inside a blocked loop, exit at once (#endBlocked). */
	#force(forcedBy: ForcedBy, now = false): void {
		if (this.#state === 'done' || this.#state === 'forced') return;
		const sequence = this.#sequence!;
		// Building the report is bounded work that the watchdog lets finish before any SIGKILL.
		this.#watchdog?.reporting();
		this.#state = 'forced';
		log('forced by %s', forcedBy);
		if (now) return this.#endBlocked(forcedBy);
		const report = this.#report('forced', this.#exitCode(true), forcedBy);
		const ms = Date.now() - sequence.startedAt;
		// Errors are made only for the signals and waits somebody looks at: 100,000 stack traces would cost seconds.
		const skipped = new Failure(undefined, (entry) => new ForceQuitError(entry.name, ms, false));
		for (const entry of this.#entries) {
			if (entry.status === 'running') entry.forceQuit(() => new ForceQuitError(entry.name, ms));
			else if (entry.status === 'registered') entry.failLazily(skipped);
		}
		this.#end(report);
	}

	/**
	 * The forced end that the watchdog calls from inside a blocked loop. Code run from there is slow (one pass
	 * over 100,000 listeners measured 200-300 ms there, against a few ms from a timer), so what must get out
	 * comes first and costs O(1): the termination message and the summary, from the counters and the first
	 * listeners that did not end well. The full report is built only for an `onReport` that wants it; nothing
	 * can observe the waits and signals of listeners any more, so they are left as they are.
	 */
	#endBlocked(forcedBy: ForcedBy): void {
		const sequence = this.#sequence!;
		const exitCode = this.#exitCode(true);
		const { brief, omitted } = this.#brief(forcedBy, exitCode);
		log('shutdown forced in %d ms, exit code %d', brief.durationMs, exitCode);
		// The logger is the application's: from here the watchdog holds the deadline, it no longer waits.
		this.#watchdog?.ending(exitCode);
		this.#announce(brief, omitted);
		// Still library work, which the watchdog lets finish (`reporting`); the application's hook comes after.
		// Naming every listener must not take the process past a second after the deadline: onReport then
		// gets the brief report.
		let report = brief;
		if (this.#onReport) {
			const listeners = this.#listenerReports(true, Date.now(), sequence.deadline + BLOCKED_REPORT_MS);
			if (listeners) report = this.#report('forced', exitCode, forcedBy, listeners);
			else log('no time left to name every listener: onReport gets the brief report');
		}
		this.#endTimers(exitCode);
		this.#deliver(report);
		sequence.resolve(report);
		if (this.#exit) this.#process.exit(exitCode);
		else this.#router.uninstall();
	}

	/** A forced report whose listeners are the first that did not end well; `omitted` counts the others. */
	#brief(forcedBy: ForcedBy, exitCode: number): { brief: ShutdownReport; omitted: Omitted } {
		const sequence = this.#sequence!;
		const now = Date.now();
		const listeners: ShutdownReport['listeners'] = [];
		const shown = { pending: 0, skipped: 0, error: 0, timeout: 0 };
		for (const entry of this.#entries) {
			if (listeners.length === BRIEF_LISTENERS) break;
			const status = entry.status;
			if (status === 'registered') {
				listeners.push({ name: entry.name, phase: entry.phase, outcome: 'skipped', durationMs: 0 });
				shown.skipped += 1;
			} else if (status === 'running') {
				listeners.push({ name: entry.name, phase: entry.phase, outcome: 'pending', durationMs: now - entry.run!.startedAt });
				shown.pending += 1;
			} else if (status === 'error' || status === 'timeout') {
				const run = entry.run!;
				listeners.push({ name: entry.name, phase: entry.phase, outcome: status, durationMs: run.durationMs, error: run.error });
				shown[status] += 1;
			}
		}
		// Every listener not yet called is still counted as registered; those running, per phase.
		const omitted = new Map([
			['error', sequence.failures - sequence.timeouts - shown.error],
			['timeout', sequence.timeouts - shown.timeout],
			['pending', sequence.running['wrap-up'] + sequence.running.shutdown - shown.pending],
			['skipped', this.#registered - shown.skipped],
		]);
		const brief: ShutdownReport = { reason: sequence.reason, outcome: 'forced', forcedBy, exitCode, durationMs: now - sequence.startedAt, listeners };
		try {
			brief.activeResources = this.#process.getActiveResourcesInfo?.() ?? [];
		} catch {
			brief.activeResources = [];
		}
		Object.defineProperty(brief, 'toJSON', { value: reportToJSON, enumerable: false });
		return { brief, omitted };
	}

	#endTimers(exitCode: number): void {
		const sequence = this.#sequence!;
		clearTimeout(sequence.forceTimer);
		clearTimeout(sequence.wrapUpTimer);
		// The watchdog stays until the process exits: the deadline holds for the hooks and the output below too.
		this.#watchdog?.ending(exitCode);
	}

	/** The termination message and, unless the end was clean, the summary: what the orchestrator and the logs keep. */
	#announce(report: ShutdownReport, omitted?: Omitted): void {
		// Written first and synchronously: it is what the orchestrator keeps, whatever the hooks below do.
		if (this.#terminationLog !== undefined) writeTerminationLog(this.#terminationLog, report, omitted);
		if (report.outcome !== 'clean') {
			let summary: string;
			try {
				summary = formatSummary(report, omitted);
			} catch (error) {
				summary = `graceful-proc: shutdown ${report.outcome}, exit code ${report.exitCode} (the summary failed: ${describeError(error)})`;
			}
			this.#log(summary);
		}
	}

	/** onReport, which may throw or reject anything: it is told on the logger, and changes nothing. */
	#deliver(report: ShutdownReport): void {
		if (!this.#onReport) return;
		const complain = (how: string) => (error: unknown) => this.#log(`graceful-proc: onReport ${how}: ${describeError(error, { stack: true })}`);
		try {
			absorb(this.#onReport(report), complain('rejected'));
		} catch (error) {
			complain('threw')(error);
		}
	}

	#end(report: ShutdownReport): void {
		const sequence = this.#sequence!;
		this.#endTimers(report.exitCode);
		log('shutdown %s in %d ms, exit code %d', report.outcome, report.durationMs, report.exitCode);
		this.#announce(report);
		this.#deliver(report);
		sequence.resolve(report);
		if (!this.#exit) {
			// Left running: Node's default signal behaviour comes back, so the next SIGTERM is not swallowed.
			this.#router.uninstall();
		} else {
			// One microtask turn later, so that `await proc.shutdown()` sees its report (and may still write)
			// before the process goes; then what stdout and stderr hold is handed to the OS first.
			void sequence.promise.then(() => this.#exitAfterOutput(sequence, report.exitCode));
		}
	}

	#exitAfterOutput(sequence: Sequence, code: number): void {
		let exited = false;
		const exit = () => {
			if (exited) return;
			exited = true;
			sequence.exitNow = undefined;
			this.#process.exit(code);
		};
		const until = Math.max(sequence.deadline, Date.now() + FLUSH_GRACE_MS);
		const flushed = flushStdio(this.#process, until);
		if (flushed === undefined) return exit();
		log('waiting for stdout and stderr before exiting');
		sequence.exitNow = exit;
		void flushed.then(exit);
	}
}

const WARMED_UP = Symbol.for('graceful-proc.warmedUp');

/**
 * V8 compiles a function the first time it is called, so the first shutdown of a process used to compile the
 * whole sequence on its critical path: about 0.7 ms of a five-listener shutdown (measured: bench/RESULTS.md).
 * A process that has a watchdog is a service that will be stopped; in an idle moment after the first listener
 * is registered, a throwaway sequence on an inert process-like object runs that code once, started the way a
 * signal starts it and ended the way a real one exits, and a second one is forced at its deadline. It touches
 * nothing real: no handler, no exit, no output; its timers are cleared when it ends, a few microtasks or one 0 ms
 * timer later. Of the real watchdog it reads what a signal reads (which signals arrived), which changes nothing.
 */
function warmUpOnce(watchdog: Watchdog): void {
	const registry = globalThis as Record<symbol, unknown>;
	// Under DEBUG the throwaway sequence would show in the logs as a shutdown; a debugging session can spare 0.5 ms.
	if (registry[WARMED_UP] || globalThis.process?.env?.DEBUG) return;
	registry[WARMED_UP] = true;
	const immediate = setImmediate(() => {
		try {
			writesPending(globalThis.process);
			watchdog.arrivals();
			// The sequence is started the way a signal starts it, so that the signal's path is compiled as well.
			let onSignal: (() => void) | undefined;
			const on = (event: string, handler: () => void) => {
				if (event === 'SIGTERM') onSignal = handler;
			};
			const inert = { on, removeListener() {}, kill: () => true, exit() {}, pid: 0 } as unknown as ProcessLike;
			// `exit: true`, so that the way out (waiting for output, then exit) is compiled too; the inert exit() does nothing.
			const proc = new ProcImpl({ process: inert, exit: true, logger: false, pm2: false, signals: ['SIGTERM'] });
			proc.addWrapUpListener(() => {}, { name: 'warm-up' });
			proc.addShutdownListener(async () => {}, { name: 'warm-up' });
			onSignal?.();
			// And a sequence forced at its deadline (a timer of 0 ms): the report of a forced end, and its summary.
			const forced = new ProcImpl({ process: inert, exit: true, logger: false, pm2: false, signals: [] });
			forced.setTimeToForceQuit(0);
			forced.addWrapUpListener(() => new Promise(() => {}), { name: 'warm-up' });
			forced.shutdown('warm-up').catch(() => {});
		} catch {}
	});
	immediate.unref?.();
}

/** An isolated proc with its own listeners, timings and process. */
export function createProc(options?: ProcOptions): Proc {
	return new ProcImpl(options);
}
