/**
 * The core's public types: a proc and its options, listeners and the context they get, the report, and the
 * process-like object a proc works on.
 */
/** The phase a listener belongs to. */
export type Phase = 'wrap-up' | 'shutdown';

/** Where a proc is in its life. */
export type ProcState = 'running' | 'wrapping-up' | 'shutting-down' | 'done' | 'forced';

/** What a listener receives when it is called. */
export interface ListenerContext {
	/** The signal name (`'SIGTERM'`), the value given to `shutdown()`, or the error that started the sequence. */
	readonly reason: unknown;
	/** Aborted when the force-quit deadline passes, or when this listener's own `timeout` runs out. */
	readonly signal: AbortSignal;
	/** Epoch milliseconds of the force-quit deadline. */
	readonly deadline: number;
}

export type Listener = (context: ListenerContext) => unknown;

export interface ListenerOptions {
	/**
	 * Shown in the report and in every error message about this listener.
	 * @default fn.name, or `wrap-up#N` / `shutdown#N`
	 */
	name?: string;
	/**
	 * Milliseconds this one listener may take; after that it counts as timed out (exit code 1) and its
	 * `ctx.signal` aborts. Without it, only the force-quit deadline bounds it.
	 * @example { timeout: 2000 }
	 */
	timeout?: number;
	/**
	 * Start this listener only once these have settled (succeeded, failed or timed out): wait functions returned
	 * by this proc, or names of listeners registered before this one. Listeners without `after` stay concurrent.
	 * A shutdown listener may run after wrap-up listeners; a wrap-up listener only after wrap-up listeners.
	 * @example addShutdownListener(closePool, { name: 'db', after: [consumerWait] })
	 */
	after?: ReadonlyArray<WaitFunction | string>;
}

/** What a final listener receives: the report of the sequence, and the time it has left. */
export interface FinalListenerContext {
	/** The report as it stands once every other listener has settled, or when the last step's slice began. */
	readonly report: ShutdownReport;
	/** Aborted when the force-quit deadline passes. */
	readonly signal: AbortSignal;
	/** Epoch milliseconds of the force-quit deadline. */
	readonly deadline: number;
}

/** A listener of the last step (`addFinalListener`). */
export type FinalListener = (context: FinalListenerContext) => unknown;

/** What a tracked unit's function receives (`proc.track(fn)`). */
export interface TrackedUnit {
	/**
	 * Aborted a tail before the force-quit deadline (1 s, or a quarter of the time the sequence has when that is
	 * shorter), or at once if the sequence is forced earlier: time to stop and give the work back.
	 */
	readonly signal: AbortSignal;
	/** The unit's name, as the report gives it. */
	readonly name: string;
}

export interface TrackOptions {
	/**
	 * Names the unit in the report and in errors (`job 42`).
	 * @default fn.name, or `unit#N`
	 */
	name?: string;
	/**
	 * Milliseconds this unit may still need once shutdown starts. While it runs, the unset times follow from it
	 * (the wrap-up phase lasts at least this long), as they follow from a drain's `delay`. Without it, the times
	 * stay as they are and the unit still has until a tail before the deadline.
	 * @example { grace: 30_000 }
	 */
	grace?: number;
}

/** Returned by `addWrapUpListener` / `addShutdownListener`. */
export interface WaitFunction {
	/** Settles when this listener has run: resolves on success, rejects with its error. */
	(): Promise<void>;
	/** Unregisters the listener if it has not been called yet. Returns whether it was removed. */
	remove(): boolean;
	/** The listener's name as it appears in the report. */
	readonly listenerName: string;
}

/** `pending`: called, still running when the sequence was forced; `skipped`: never called, because it was forced first. */
export type ListenerOutcome = 'ok' | 'error' | 'timeout' | 'pending' | 'skipped';

/**
 * What ended a forced sequence: the force-quit `deadline` passed, a repeated `signal` asked for it, or the
 * deadline passed while the event loop was `blocked` (the watchdog thread ended it).
 */
export type ForcedBy = 'deadline' | 'signal' | 'blocked';

export interface ListenerReport {
	name: string;
	phase: Phase;
	outcome: ListenerOutcome;
	durationMs: number;
	error?: unknown;
	/** A listener skipped while it waited for others (`after`): the names of those that had not settled. */
	waitingOn?: string[];
}

export interface ShutdownReport {
	reason: unknown;
	outcome: 'clean' | 'failed' | 'forced';
	exitCode: number;
	durationMs: number;
	listeners: ListenerReport[];
	/** When forced: what forced it. */
	forcedBy?: ForcedBy;
	/** When forced: what still kept the event loop alive (`process.getActiveResourcesInfo()`). */
	activeResources?: string[];
	/**
	 * Other handlers on the signals that start the sequence, as found at the trigger (a framework's
	 * `enableShutdownHooks()`, an SDK's `register`): they run beside the sequence. Present when there are any.
	 */
	foreignHandlers?: ForeignHandler[];
}

/** A handler on a shutdown signal that graceful-proc did not install. */
export interface ForeignHandler {
	/** The function's name, or `'anonymous'` (Node does not record where a listener was added). */
	name: string;
	/** The configured signals it listens on. */
	signals: string[];
}

/** Where failed and forced shutdowns print their summary. `console` fits. */
export interface Logger {
	error(message: string): void;
}

/**
 * The part of `process` that a proc uses. The real `process` fits; so does `createFakeProcess()` from
 * `graceful-proc/testing`.
 */
export interface ProcessLike {
	on(event: string, listener: (...args: any[]) => void): unknown;
	off?(event: string, listener: (...args: any[]) => void): unknown;
	removeListener(event: string, listener: (...args: any[]) => void): unknown;
	kill(pid: number, signal?: string | number): unknown;
	exit(code?: number): unknown;
	readonly pid: number;
	readonly platform?: string;
	/** Present when the process has an IPC channel (forked, or run by PM2). */
	send?: unknown;
	channel?: { unref?(): void } | null | undefined;
	getActiveResourcesInfo?(): string[];
	/** The listeners of an event, to name other handlers on the shutdown signals (an EventEmitter has it). */
	listeners?(event: string): Function[];
	report?: { writeReport?(file?: string): string } | null | undefined;
	/** The exit code the application set (`process.exitCode`); a non-zero one is kept when the sequence exits. */
	exitCode?: number | string | null | undefined;
	/** What the sequence waits for before it exits, so that nothing written on the way out is lost. */
	stdout?: unknown;
	stderr?: unknown;
}

export interface ProcOptions {
	/**
	 * The process whose signals start the sequence and whose `exit` ends it.
	 * @default globalThis.process
	 */
	process?: ProcessLike;
	/**
	 * Signals that start the sequence.
	 * @default ['SIGTERM', 'SIGINT'], plus 'SIGBREAK' on Windows
	 */
	signals?: readonly string[];
	/**
	 * Milliseconds from the trigger to the forced exit.
	 * @default 5500
	 */
	timeToForceQuit?: number;
	/**
	 * Milliseconds the wrap-up phase may take before the shutdown phase starts anyway.
	 * @default 1000
	 */
	timeToWrapUp?: number;
	/**
	 * Call `process.exit` when the sequence ends. `false` leaves the process running (tests, embedding).
	 * @default true
	 */
	exit?: boolean;
	/**
	 * Where failed and forced shutdowns print their summary; `false` for silence.
	 * @default stderr
	 */
	logger?: Logger | false;
	/**
	 * Turn an uncaught exception or unhandled rejection into a graceful shutdown with exit code 1.
	 * @default false
	 */
	handleErrors?: boolean;
	/**
	 * Called with the report once the sequence has ended (clean, failed or forced), before exiting.
	 */
	onReport?: (report: ShutdownReport) => void;
	/**
	 * A signal that writes a Node diagnostic report (`process.report.writeReport()`), the counterpart of
	 * go-zero's goroutine dump. `true` means `'SIGUSR2'`.
	 * @default false
	 */
	diagnosticReport?: boolean | string;
	/**
	 * Start the sequence on PM2's `'shutdown'` IPC message when the process has an IPC channel.
	 * @default true
	 */
	pm2?: boolean;
	/**
	 * Write a short summary (outcome, exit code, reason, duration, the listeners that failed or were pending)
	 * to this file when the sequence ends, at most 4096 bytes. `true` means `/dev/termination-log`, where
	 * Kubernetes reads a container's termination message. A missing or unwritable file is ignored.
	 * @default false
	 * @example { terminationLog: true }
	 */
	terminationLog?: boolean | string;
	/**
	 * Other handlers on the configured signals are named in a warning (code `GRACEFUL_PROC_FOREIGN_HANDLER`) when
	 * the proc installs its own and at the trigger, and listed in the report. `'ignore'` silences the warning;
	 * an array of names silences it for those handlers only. They are listed in the report either way.
	 * @default 'warn'
	 * @example { foreignHandlers: ['otelShutdown'] }
	 */
	foreignHandlers?: 'warn' | 'ignore' | readonly string[];
	/**
	 * Milliseconds at the end of `timeToForceQuit` kept for the final listeners (`addFinalListener`), when there
	 * are any: the other listeners are forced that much before the deadline. Never more than half of it.
	 * @default 500
	 */
	timeForFinal?: number;
	/**
	 * When the force-quit watchdog thread is made. `'resident'`: in the first idle moment after the first listener,
	 * so that it is booted when the signal comes; it holds about 10 MB and one thread while the service runs, and
	 * Node joins it at exit (a few ms as the parent sees it). `'at-shutdown'`: when the sequence starts, so that an
	 * idle service holds neither; the shutdown pays for making it (about 3 ms of the main thread, then its boot on
	 * another core), and a loop that is already blocked when the signal arrives is not ended at the deadline (no
	 * thread is watching yet). `'off'`: no thread at all, so neither idle nor exit pays for one; the deadline is
	 * then kept by the main thread's timer alone, which a listener that blocks the event loop stops: such a
	 * process runs on until the orchestrator kills it. Set it before the first listener.
	 * @default 'resident'
	 * @example { watchdog: 'at-shutdown' }
	 */
	watchdog?: 'resident' | 'at-shutdown' | 'off';
}

/** The second argument of `shutdown()`. */
export interface ShutdownOptions {
	/**
	 * The exit code to end with (an integer 0..255). A non-zero code is kept however the sequence ends, and makes
	 * its outcome `failed` when the listeners were all fine; 0 leaves the code to the listeners.
	 * @default 0
	 * @example shutdown('config invalid', { exitCode: 78 })
	 */
	exitCode?: number;
}

/** The proc API: the process-wide `proc` and every `createProc()` instance. */
export interface Proc {
	addWrapUpListener(fn: Listener, options?: ListenerOptions): WaitFunction;
	addShutdownListener(fn: Listener, options?: ListenerOptions): WaitFunction;
	setTimeToForceQuit(ms: number): void;
	setTimeToWrapUp(ms: number): void;
	/**
	 * The last step: `fn` is called with the report once every other listener has settled (or when only
	 * `timeForFinal` ms of the deadline are left), to log it and flush loggers and telemetry. Returns the remover.
	 */
	addFinalListener?(fn: FinalListener, options?: { name?: string }): () => boolean;
	/**
	 * Runs `fn({ signal, name })` as a unit of tracked work: the wrap-up phase waits for it (as the listener
	 * `tracked work`), and `signal` aborts a tail before the deadline. Returns `fn`'s promise. Once the sequence
	 * has started no unit starts: `fn` is not called and the promise rejects with a `NotAcceptingError`
	 * (code `GRACEFUL_PROC_NOT_ACCEPTING`), so that the item goes back to its queue.
	 * @example worker.process((job) => proc.track(({ signal }) => handle(job, signal), { name: `job ${job.id}` }))
	 */
	track<T>(fn: (unit: TrackedUnit) => T | PromiseLike<T>, options?: TrackOptions): Promise<Awaited<T>>;
	/** Change options before the sequence starts (all of `createProc`'s but `process`). */
	configure(options: Omit<ProcOptions, 'process'>): void;
	/** Start the sequence by hand. Idempotent: every call returns the same promise. */
	shutdown(reason?: unknown, options?: ShutdownOptions): Promise<ShutdownReport>;
	readonly state: ProcState;
	/** Aborted when the sequence starts, with the reason. */
	readonly signal: AbortSignal;
	/** Epoch ms of the force-quit deadline once the sequence has started, otherwise undefined. */
	readonly deadline: number | undefined;
	/** The current `timeToForceQuit`, in ms. */
	readonly timeToForceQuit: number;
	/** The current `timeToWrapUp`, in ms. */
	readonly timeToWrapUp: number;
}
