import { createDebug } from './debug.js';
import { ForceQuitError, ListenerRemovedError, ListenerTimeoutError } from './errors.js';
import { ListenerEntry } from './listener-entry.js';
import { assertSignalName, SignalRouter, type SignalRouterOptions } from './signals.js';
import { formatSummary } from './summary.js';
import { RESERVE_TIME, TimeBudget, TIMES_DO_NOT_FIT } from './time-budget.js';
import type {
	Listener,
	ListenerOptions,
	ListenerOutcome,
	Logger,
	Phase,
	Proc,
	ProcessLike,
	ProcOptions,
	ProcState,
	ShutdownReport,
	WaitFunction,
} from './types.js';
import { assertBoolean, assertDuration, assertFunction, assertOptions, assertString, expected } from './validate.js';
import { startWatchdog, WATCHDOG_HOOK, type Watchdog } from './watchdog.js';

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
] as const;
const LISTENER_OPTIONS = ['name', 'timeout'] as const;

interface Sequence {
	readonly reason: unknown;
	readonly startedAt: number;
	readonly deadline: number;
	readonly promise: Promise<ShutdownReport>;
	resolve(report: ShutdownReport): void;
	exitCodeFloor: number;
	firstSignalAt: number | undefined;
	forceTimer?: ReturnType<typeof setTimeout>;
	wrapUpTimer?: ReturnType<typeof setTimeout>;
	watchdog?: Watchdog;
	readonly running: Set<ListenerEntry>;
}

function errorToJSON(error: unknown): unknown {
	return error instanceof Error ? { name: error.name, message: error.message } : error;
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
	#router: SignalRouter;
	readonly #times = new TimeBudget((message) => this.#warn(message));
	#state: ProcState = 'running';
	#abort = new AbortController();
	/** Registration order, which is the report's order; a Set so that removing is O(1). */
	#entries = new Set<ListenerEntry>();
	#registered = 0;
	#counters: Record<Phase, number> = { 'wrap-up': 0, shutdown: 0 };
	#sequence: Sequence | undefined;

	constructor(options: ProcOptions = {}) {
		assertOptions('options', options, PROC_OPTIONS);
		const proc = options.process ?? globalThis.process;
		if (!isProcessLike(proc)) {
			throw new TypeError(expected('options.process', 'a process-like object (on, removeListener, kill, exit, pid)', proc));
		}
		this.#process = proc;
		this.#router = this.#configure(options, {});
	}

	/**
	 * Change the options of a proc that has not started its sequence (all of `createProc`'s but `process`),
	 * which is how the process-wide proc gets `handleErrors`, `logger`, `onReport` and the rest.
	 */
	configure(options: Omit<ProcOptions, 'process'>): void {
		assertOptions('options', options, PROC_OPTIONS.filter((key) => key !== 'process'));
		if (this.#state !== 'running') throw new Error('graceful-proc: configure() is not possible once shutdown has started');
		const wasInstalled = this.#router.installed;
		const router = this.#configure(options, this.#routerOptions);
		this.#router.uninstall();
		this.#router = router;
		if (wasInstalled) router.install();
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
		this.#exit = exit;
		this.#logger = logger;
		if (options.onReport !== undefined) this.#onReport = options.onReport;
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
		return this.#times.reserve(phase, ms, who);
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
	}

	setTimeToWrapUp(ms: number): void {
		assertDuration('ms', ms);
		this.#assertNotStarted('setTimeToWrapUp');
		this.#times.set({ timeToWrapUp: ms });
	}

	shutdown(reason?: unknown): Promise<ShutdownReport> {
		return this.#start(reason, 0);
	}

	[kShutdownWithCode](reason: unknown, exitCode: number): Promise<ShutdownReport> {
		return this.#start(reason, exitCode);
	}

	#add(phase: Phase, fn: Listener, options: ListenerOptions | undefined): WaitFunction {
		this.#counters[phase] += 1;
		const name = options?.name ?? (fn.name || `${phase}#${this.#counters[phase]}`);
		const entry = new ListenerEntry(name, phase, fn, options?.timeout);
		this.#entries.add(entry);
		this.#registered += 1;
		const state = this.#state;
		// Once the sequence has ended, the process is Node's again: a late listener runs but installs nothing.
		if (state !== 'done' && state !== 'forced') this.#router.install();
		log('added %s listener %s', phase, name);

		if (state !== 'running' && (phase === 'wrap-up' || state !== 'wrapping-up')) {
			// Added during shutdown: called at once and awaited (go-zero's late listeners never ran).
			this.#call(entry);
		}

		const wait = (() => entry.promise()) as WaitFunction;
		Object.defineProperty(wait, 'listenerName', { value: name, enumerable: true });
		wait.remove = () => this.#remove(entry);
		return wait;
	}

	#remove(entry: ListenerEntry): boolean {
		if (entry.status !== 'registered') return false;
		entry.status = 'removed';
		this.#entries.delete(entry);
		this.#registered -= 1;
		entry.failLazily(() => new ListenerRemovedError(entry.name));
		log('removed %s listener %s', entry.phase, entry.name);
		if (this.#registered === 0 && this.#state === 'running') this.#router.uninstall();
		return true;
	}

	#onSignal(name: string): void {
		const sequence = this.#sequence;
		const now = Date.now();
		log('received %s in state %s', name, this.#state);
		if (sequence === undefined) {
			this.#start(name, 0);
			this.#sequence!.firstSignalAt = now;
			return;
		}
		if (this.#state === 'done' || this.#state === 'forced') return;
		if (sequence.firstSignalAt === undefined) {
			// The sequence was started by hand; this is the first signal, and it joins it.
			sequence.firstSignalAt = now;
			return;
		}
		if (now - sequence.firstSignalAt < DUPLICATE_SIGNAL_MS) return;
		this.#force(`repeated ${name}`);
	}

	#onError(error: unknown, kind: 'uncaughtException' | 'unhandledRejection'): void {
		const detail = error instanceof Error ? (error.stack ?? String(error)) : String(error);
		if (this.#logger) this.#logger.error(`graceful-proc: ${kind}${this.#state === 'running' ? ', shutting down' : ' during shutdown'}: ${detail}`);
		if (this.#sequence === undefined) this.#start(error, 1);
		else this.#sequence.exitCodeFloor = 1;
	}

	#watchdogFailed(error: unknown): void {
		if (this.#logger) {
			this.#logger.error(`graceful-proc: the force-quit watchdog could not start (${String(error)}); a blocked event loop would outlive the deadline`);
		}
	}

	#writeDiagnosticReport(): void {
		try {
			const file = this.#process.report?.writeReport?.();
			if (this.#logger) this.#logger.error(`graceful-proc: diagnostic report written${file ? ` to ${file}` : ''}`);
		} catch (error) {
			if (this.#logger) this.#logger.error(`graceful-proc: diagnostic report failed: ${String(error)}`);
		}
	}

	#start(reason: unknown, exitCodeFloor: number): Promise<ShutdownReport> {
		if (this.#sequence) {
			this.#sequence.exitCodeFloor = Math.max(this.#sequence.exitCodeFloor, exitCodeFloor);
			return this.#sequence.promise;
		}
		const startedAt = Date.now();
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
			exitCodeFloor,
			firstSignalAt: undefined,
			running: new Set(),
		};
		this.#sequence = sequence;
		log('shutdown started (reason: %o), force-quit in %d ms', reason, this.timeToForceQuit);
		// Keeps the shutdown alive: listeners may await promises that hold nothing in the event loop.
		sequence.forceTimer = setTimeout(() => this.#force('deadline'), this.timeToForceQuit);
		if (this.#exit && this.#process === globalThis.process) {
			(globalThis as Record<symbol, unknown>)[WATCHDOG_HOOK] = () => this.#force('deadline (event loop blocked)', true);
			try {
				sequence.watchdog = startWatchdog(this.#process.pid, sequence.deadline, (error) => this.#watchdogFailed(error));
			} catch (error) {
				this.#watchdogFailed(error);
			}
		}
		this.#router.install();

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
		entry.startedAt = Date.now();
		sequence.running.add(entry);
		const context = {
			reason: sequence.reason,
			deadline: sequence.deadline,
			get signal() {
				return entry.signal;
			},
		};
		let result: Promise<unknown>;
		try {
			result = Promise.resolve(entry.fn(context));
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
			entry.timer = setTimeout(() => {
				const error = new ListenerTimeoutError(entry.name, ms);
				entry.abort(error);
				this.#settle(entry, 'timeout', error);
			}, ms);
		}
	}

	#settle(entry: ListenerEntry, outcome: ListenerOutcome, error?: unknown): void {
		// After a forced exit the report is final; a late settlement changes nothing.
		if (entry.status !== 'running') return;
		clearTimeout(entry.timer);
		entry.status = outcome;
		entry.durationMs = Date.now() - entry.startedAt;
		this.#sequence?.running.delete(entry);
		if (outcome === 'ok') {
			entry.fulfil();
			log('%s listener %s finished in %d ms', entry.phase, entry.name, entry.durationMs);
		} else {
			entry.error = error;
			entry.fail(error);
			log('%s listener %s failed (%s) in %d ms: %o', entry.phase, entry.name, outcome, entry.durationMs, error);
		}
		this.#advance();
	}

	#advance(): void {
		const sequence = this.#sequence;
		if (sequence === undefined) return;
		if (this.#state === 'wrapping-up') {
			for (const entry of sequence.running) if (entry.phase === 'wrap-up') return;
			this.#enterShutdownPhase();
		} else if (this.#state === 'shutting-down' && sequence.running.size === 0) {
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

	#report(outcome: ShutdownReport['outcome'], exitCode: number): ShutdownReport {
		const sequence = this.#sequence!;
		const now = Date.now();
		const listeners = [...this.#entries]
			.filter((entry) => entry.status !== 'registered' || outcome === 'forced')
			.map((entry) => {
				const pending = entry.status === 'running' || entry.status === 'registered';
				return {
					name: entry.name,
					phase: entry.phase,
					outcome: pending ? ('pending' as const) : (entry.status as ListenerOutcome),
					durationMs: entry.status === 'registered' ? 0 : pending ? now - entry.startedAt : entry.durationMs,
					...(entry.error === undefined ? {} : { error: entry.error }),
				};
			});
		const report: ShutdownReport = { reason: sequence.reason, outcome, exitCode, durationMs: now - sequence.startedAt, listeners };
		if (outcome === 'forced') report.activeResources = this.#process.getActiveResourcesInfo?.() ?? [];
		// Errors carry no enumerable fields: JSON.stringify(report) would print `{}` for each one.
		Object.defineProperty(report, 'toJSON', { value: reportToJSON, enumerable: false });
		return report;
	}

	#finish(): void {
		const sequence = this.#sequence!;
		let failed = false;
		for (const entry of this.#entries) if (entry.status === 'error' || entry.status === 'timeout') failed = true;
		const exitCode = Math.max(sequence.exitCodeFloor, failed ? 1 : 0);
		this.#state = 'done';
		this.#end(this.#report(exitCode === 0 ? 'clean' : 'failed', exitCode));
	}

	#force(why: string, now = false): void {
		if (this.#state === 'done' || this.#state === 'forced') return;
		const sequence = this.#sequence!;
		this.#state = 'forced';
		log('forced: %s', why);
		const report = this.#report('forced', 1);
		for (const entry of sequence.running) {
			clearTimeout(entry.timer);
			const error = new ForceQuitError(entry.name, Date.now() - sequence.startedAt);
			entry.abort(error);
			entry.fail(error);
		}
		this.#end(report, now);
	}

	#end(report: ShutdownReport, now = false): void {
		const sequence = this.#sequence!;
		clearTimeout(sequence.forceTimer);
		clearTimeout(sequence.wrapUpTimer);
		sequence.watchdog?.cancel();
		const hooks = globalThis as Record<symbol, unknown>;
		if (sequence.watchdog) delete hooks[WATCHDOG_HOOK];
		log('shutdown %s in %d ms, exit code %d', report.outcome, report.durationMs, report.exitCode);
		if (report.outcome !== 'clean' && this.#logger) {
			try {
				this.#logger.error(formatSummary(report));
			} catch {}
		}
		try {
			this.#onReport?.(report);
		} catch (error) {
			if (this.#logger) this.#logger.error(`graceful-proc: onReport threw: ${String(error)}`);
		}
		sequence.resolve(report);
		if (!this.#exit) {
			// Left running: Node's default signal behaviour comes back, so the next SIGTERM is not swallowed.
			this.#router.uninstall();
		} else if (now) {
			this.#process.exit(report.exitCode);
		} else {
			// One microtask turn later, so that `await proc.shutdown()` sees its report before the process goes.
			void sequence.promise.then(() => this.#process.exit(report.exitCode));
		}
	}
}

/** An isolated proc with its own listeners, timings and process. */
export function createProc(options?: ProcOptions): Proc {
	return new ProcImpl(options);
}
