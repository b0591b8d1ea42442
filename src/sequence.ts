/**
 * The record of one shutdown sequence, and the rules read from it: which exit code it ends with, and whether a
 * signal that comes while it runs is the first one delivered again or a deliberate repeat that forces the end.
 * The rules are pure functions; only `recordFirstSignal` and `recordSignal` change the record.
 */
import { DUPLICATE_SIGNAL_MS, judgeRepeat } from './repeat-rule.js';
import type { SignalSenders } from './signal-senders.js';
import type { ForeignHandler, ProcessLike, ShutdownReport } from './types.js';

export { DUPLICATE_SIGNAL_MS };

/**
 * The watchdog thread and the main thread each read the clock when the same signal arrives, and the thread may
 * record it this much after the main thread took its time: the thread's first arrival is still that signal.
 */
export const SAME_ARRIVAL_MS = 10;

/** What the watchdog thread saw of the signals' arrivals, where it watches them (its `arrivals()`). */
export interface SignalArrivals {
	/** How many of the watched signals arrived. */
	readonly count: number;
	/** When the first arrived (epoch ms); meaningful when `count > 0`. */
	readonly first: number;
	/** How many arrived within DUPLICATE_SIGNAL_MS of the first, the first included. */
	readonly inWindow: number;
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
	return seen !== undefined && seen.count > 0 ? Math.min(now, seen.first) : now;
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
	const first = sequence.firstSignalAt;
	if (first === undefined || sequence.firstSignalName === undefined) return false;
	const handled = signalsHandled(sequence);
	if (senders === undefined) return withinWindow(sequence, first, handled, signal.now, seen);
	const at = repeatArrival(sequence, first, handled, signal.now, seen);
	return judgeRepeat({ first: { name: sequence.firstSignalName, at: first }, seen: handled - 1, name: signal.name, at, senders }) === 'duplicate';
}

/** Whether the watchdog's readings cover the `handled`-th signal: it saw that many, and its first is the sequence's first. */
function arrivalsCover(seen: SignalArrivals | undefined, first: number, handled: number): seen is SignalArrivals {
	return seen !== undefined && seen.count >= handled && seen.first <= first + SAME_ARRIVAL_MS;
}

/**
 * When the `handled`-th signal arrived, as well as can be told. Signals are handled in the order they arrived,
 * so it arrived within DUPLICATE_SIGNAL_MS of the first if the watchdog saw at least `handled` arrive within it;
 * then it counts as arriving with the first (every window is at least that long). Where the watchdog cannot say
 * (Node 24 and later, a thread not booted yet), a signal that was waiting when the first signal's handler
 * returned arrived while that handler ran: with the first too. Otherwise, when it was handled: no earlier.
 */
function repeatArrival(sequence: Sequence, first: number, handled: number, now: number, seen: SignalArrivals | undefined): number {
	// On a loaded machine the thread may take its reading of the first signal tens of milliseconds after the main
	// thread took its own (12 to 31 ms measured with four CPU hogs on two cores); its window is counted from its
	// own reading, so it still tells which came within the window. A reading later than the window itself is not
	// trusted: the thread may then have started watching after the first signal.
	if (seen !== undefined && seen.count >= handled && seen.first - first < DUPLICATE_SIGNAL_MS) return handled <= seen.inWindow ? first : now;
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
	if (arrivalsCover(seen, first, handled)) return handled <= seen.inWindow;
	return sequence.firstSignalDoneAt !== undefined && now - sequence.firstSignalDoneAt < DUPLICATE_SIGNAL_MS;
}
