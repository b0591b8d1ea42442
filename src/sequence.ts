/**
 * The record of one shutdown sequence, and the rules read from it: which exit code it ends with, and whether a
 * signal that comes while it runs is the first one delivered again or a deliberate repeat that forces the end.
 * The rules are pure functions; only `recordFirstSignal` and `recordSignal` change the record.
 */
import { DUPLICATE_SIGNAL_MS, judgeRepeat } from './repeat-rule.js';
import type { SignalSenders } from './signal-senders.js';
import type { ForeignHandler, ProcessLike, ShutdownReport } from './types.js';

export { DUPLICATE_SIGNAL_MS };

/** What the watchdog thread saw of the signals' arrivals, where it watches them (its `arrivals()`). */
export interface SignalArrivals {
	/** How many of the watched signals arrived. */
	readonly count: number;
	/** When each of the first few arrived (epoch ms), in order. */
	readonly at: readonly number[];
}

export interface Sequence {
	readonly reason: unknown;
	readonly startedAt: number;
	readonly deadline: number;
	readonly promise: Promise<ShutdownReport>;
	resolve(report: ShutdownReport): void;
	/** The code asked for with `shutdown(reason, { exitCode })`; 0 when none was. */
	exitCode: number;
	/** Started by a failure (`run()`'s main threw, an uncaught error): exit code 1 unless another is set. */
	failed: boolean;
	/** The first signal that the handlers took while the sequence ran (it started it, or joined one started by hand). */
	firstSignalName: string | undefined;
	/** When that signal arrived (epoch ms): as the watchdog saw it where it watches signals, else when it was handled. */
	firstSignalAt: number | undefined;
	/** When the first signal's handler returned (the wrap-up listeners' synchronous work included). */
	firstSignalDoneAt: number | undefined;
	/**
	 * True from the first signal's handling until the event loop has polled once more, and no timer of the
	 * application ran before that poll: a signal handled meanwhile was already waiting when the first signal's
	 * handler returned, so it arrived while that handler ran.
	 */
	firstSignalTurn: boolean;
	/** How many of each signal the handlers took, from the first on (the first included). */
	readonly signalsSeen: Record<string, number>;
	/** Fires at the deadline. Not unref'd: it keeps the shutdown alive, as listeners may await promises that hold nothing in the loop. */
	forceTimer: ReturnType<typeof setTimeout> | undefined;
	wrapUpTimer: ReturnType<typeof setTimeout> | undefined;
	/**
	 * Set while the ended sequence waits, for the last step or for stdout and stderr: a repeated signal (named)
	 * ends that wait at once.
	 */
	exitNow: ((signal?: string) => void) | undefined;
	/** Other handlers on the signals, as found at the trigger: the report lists them. */
	foreignHandlers: readonly ForeignHandler[] | undefined;
	/**
	 * The report's exit code, from when the report is built (the watchdog then holds what follows to the deadline);
	 * undefined before: a forced end from inside a blocked loop must then make the report itself.
	 */
	reportedCode: number | undefined;
}

/** What starts a sequence, or joins the one running, named: its callers each give a different part of it. */
export interface Trigger {
	/** The signal's name, `shutdown()`'s reason, `run()`'s outcome, or the uncaught error. */
	readonly reason: unknown;
	/** Asked for with `shutdown(reason, { exitCode })`; 0: none. */
	readonly exitCode?: number;
	/** Started by a failure (`run()`'s main threw, an uncaught error): exit code 1 unless another is set. */
	readonly failed?: boolean;
	/** When it happened (epoch ms): a signal's arrival, which a busy loop may have handled later. Default: now. */
	readonly at?: number;
	/** false: the watchdog ends the sequence at once, from inside a blocked loop, and no listener may be called. */
	readonly callListeners?: boolean;
}

/**
 * How `run()` ends the sequence when its main threw: as a failure, exit code 1 unless the application set its own
 * (a code given to `shutdown()` would win over the application's). Registered, so that `run()` of one build or copy
 * finds it on a proc made by another.
 */
export const kShutdownWithCode = Symbol.for('graceful-proc.shutdownWithCode');

export interface SequenceStart {
	readonly reason: unknown;
	/** When the trigger happened: a signal's arrival, which a busy loop may have handled later. */
	readonly startedAt: number;
	readonly deadline: number;
	readonly exitCode: number;
	readonly failed: boolean;
}

export function createSequence(start: SequenceStart): Sequence {
	let resolve!: (report: ShutdownReport) => void;
	const promise = new Promise<ShutdownReport>((res) => {
		resolve = res;
	});
	return {
		reason: start.reason,
		startedAt: start.startedAt,
		deadline: start.deadline,
		promise,
		resolve,
		exitCode: start.exitCode,
		failed: start.failed,
		firstSignalName: undefined,
		firstSignalAt: undefined,
		firstSignalDoneAt: undefined,
		firstSignalTurn: false,
		signalsSeen: Object.create(null) as Record<string, number>,
		forceTimer: undefined,
		wrapUpTimer: undefined,
		exitNow: undefined,
		foreignHandlers: undefined,
		reportedCode: undefined,
	};
}

/**
 * A second trigger joins the running sequence: the first code asked for is the one kept, and a failure can only
 * make a clean end a failed one. Once the sequence has ended, its report is final and nothing changes.
 */
export function joinSequence(sequence: Sequence, trigger: { exitCode: number; failed: boolean; ended: boolean }): Promise<ShutdownReport> {
	if (!trigger.ended) {
		if (sequence.exitCode === 0) sequence.exitCode = trigger.exitCode;
		sequence.failed ||= trigger.failed;
	}
	return sequence.promise;
}

/** Whether an end with every listener settled is a failed one: a listener failed, or the trigger asked for it. */
export function endsFailed(sequence: Sequence, listenerFailures: number): boolean {
	return listenerFailures > 0 || sequence.failed || sequence.exitCode !== 0;
}

/**
 * The exit code: one asked for with `shutdown(reason, { exitCode })`, else a non-zero `process.exitCode` the
 * application set (`appCode`), else 1 for a failure and 0 for a clean end.
 */
export function exitCodeOf(sequence: Sequence, appCode: number, failure: boolean): number {
	return sequence.exitCode || appCode || (failure ? 1 : 0);
}

/** The application's own `process.exitCode`, when it set a non-zero one; 0 otherwise. */
export function appExitCode(process: ProcessLike): number {
	try {
		const raw = process.exitCode;
		const code = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
		return typeof code === 'number' && Number.isInteger(code) ? code : 0;
	} catch {
		return 0;
	}
}

/** When a signal handled `now` arrived: the watchdog's reading of the first arrival, when it saw one. */
export function arrivalOf(now: number, seen: SignalArrivals | undefined): number {
	return threadReading(seen, 1) ?? now;
}

/**
 * The watchdog thread's reading of the `nth` signal (1: the first), where it has one. The thread starts watching
 * after the handlers are installed, so its nth arrival is never earlier than the nth the handlers took: a reading
 * is an upper bound of when that signal arrived, as the main thread's own is.
 */
function threadReading(seen: SignalArrivals | undefined, nth: number): number | undefined {
	return seen !== undefined && seen.count >= nth ? seen.at[nth - 1] : undefined;
}

/** The earliest of two readings of one moment (each thread reads the clock when it gets to the signal). */
function earliest(reading: number, other: number | undefined): number {
	return other === undefined ? reading : Math.min(reading, other);
}

/** The first signal of the sequence: its name, when it arrived, and when its handler returned. */
export function recordFirstSignal(sequence: Sequence, first: { name: string; arrivedAt: number; handledAt: number }): void {
	sequence.firstSignalName = first.name;
	sequence.firstSignalAt = first.arrivedAt;
	sequence.firstSignalDoneAt = first.handledAt;
	recordSignal(sequence, first.name);
}

/** One more signal taken by the handlers. */
export function recordSignal(sequence: Sequence, name: string): void {
	sequence.signalsSeen[name] = (sequence.signalsSeen[name] ?? 0) + 1;
}

/** Signals the handlers took from the first on, the first included. */
function signalsHandled(sequence: Sequence): number {
	let handled = 0;
	for (const name in sequence.signalsSeen) handled += sequence.signalsSeen[name]!;
	return handled;
}

/**
 * Whether the signal just recorded (with `recordSignal`) is the first one delivered again, rather than a repeat
 * that forces the end. With the senders known (Linux, the real process), judgeRepeat decides, from who may send
 * copies of the first signal and when this one arrived; otherwise the window rule below.
 */
export function isDuplicate(sequence: Sequence, signal: { name: string; now: number }, seen: SignalArrivals | undefined, senders: SignalSenders | undefined): boolean {
	if (sequence.firstSignalAt === undefined || sequence.firstSignalName === undefined) return false;
	// Each thread reads the clock only when it gets to a signal, and on a loaded machine either may get there tens
	// of milliseconds late (the watchdog thread's reading of a first signal came 61 ms after it was sent, 33 ms
	// after the main thread's, with five CPU hogs on two cores). A reading taken late for the first signal and on
	// time for the repeat makes the gap look shorter than it was, and a deliberate second Ctrl+C look like a
	// copy: so each signal's time is the earliest reading of it, and the gap is measured between those.
	const first = earliest(sequence.firstSignalAt, threadReading(seen, 1));
	const handled = signalsHandled(sequence);
	if (senders === undefined) return withinWindow(sequence, first, handled, signal.now, seen);
	const at = repeatArrival(sequence, first, handled, signal.now, seen);
	return judgeRepeat({ first: { name: sequence.firstSignalName, at: first }, seen: handled - 1, name: signal.name, at, senders }) === 'duplicate';
}

/**
 * When the `handled`-th signal arrived, as well as can be told: the watchdog thread's reading of it where it has
 * one (it saw the arrival even while this loop was busy), or when the handler took it. Where the watchdog cannot
 * say (Node 24 and later, a thread not booted yet, or one that has not got to the signal yet), a signal that was
 * waiting when the first signal's handler returned arrived while that handler ran: with the first.
 */
function repeatArrival(sequence: Sequence, first: number, handled: number, now: number, seen: SignalArrivals | undefined): number {
	const reading = threadReading(seen, handled);
	if (reading !== undefined) return Math.min(now, reading);
	return sequence.firstSignalTurn ? first : now;
}

/**
 * Where the senders are not known: a repeat within DUPLICATE_SIGNAL_MS of the first signal's arrival is the same
 * Ctrl+C delivered twice. What counts is when it arrived (see repeatArrival); where the watchdog cannot see
 * arrivals, a repeat handled within the window after the first signal's handler returned may have arrived
 * while that handler was still busy, and counts as a duplicate.
 */
function withinWindow(sequence: Sequence, first: number, handled: number, now: number, seen: SignalArrivals | undefined): boolean {
	if (now - first < DUPLICATE_SIGNAL_MS) return true;
	const reading = threadReading(seen, handled);
	if (reading !== undefined) return reading - first < DUPLICATE_SIGNAL_MS;
	return sequence.firstSignalDoneAt !== undefined && now - sequence.firstSignalDoneAt < DUPLICATE_SIGNAL_MS;
}
