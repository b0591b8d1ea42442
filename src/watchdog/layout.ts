/**
 * The force-quit watchdog's protocol, in one place: the shared memory between the main thread (`watchdog.ts`)
 * and the watchdog thread (`thread.ts`), the phases of a sequence as the thread sees them, the data the thread
 * boots with, the hook it calls at the deadline, and its steps past the deadline.
 *
 * Three parties:
 * - the proc (`proc.ts`) runs the sequence. Through the main side it says when a sequence starts or its deadline
 *   moves (`setDeadline`), when it builds a report (`reporting`), when the report is out (`ending`), when its
 *   force-quit time changes, and when it lets go of the signals or takes them again (`release`/`rearm`). It
 *   reads what the thread saw of the signals (`arrivals`) to tell a repeated signal from one delivered twice.
 *   The main side calls it back with `onDeadline` (from inside whatever blocks the main thread) and `onError`.
 * - the main side (`watchdog.ts`) owns the buffer and the worker. It writes its slots, then bumps `generation`
 *   and notifies it: the whole cost of a shutdown for the main thread is a few stores and one notify.
 * - the thread (`thread.ts`), one self-contained function whose source runs in a worker. It waits on
 *   `generation` (Atomics.waitAsync: no timer fires while the service runs), keeps one timer for the deadline,
 *   watches the signals where Node lets a worker do so, and steps in past the deadline.
 *
 * Shared memory: Int32 slots from byte 0, Float64 slots from byte `f64Offset` (see `WatchdogLayout` for each
 * slot, and who writes it). The thread's values are written before the count that publishes them
 * (`arrivals`), so a reader that loads the count first sees the values that go with it.
 *
 * Phases, written by the main side only, read by the thread: `running` (no sequence), `started` (a deadline is
 * set), `reporting` (a report is being built: bounded library work that must come out before any SIGKILL, so the
 * thread waits for it, up to `reportCap` past the deadline), `ending` (the report is out: the application's hooks
 * and the flushing of output are held to `ending` past the deadline, and `exitCode` says how it ends).
 *
 * Letting go: `release()` sets `armed` to 0, wakes the thread and waits (at most 100 ms) until the thread has
 * closed its signal handles (`watching` back to 0, notified), so that a signal arriving meanwhile reaches the
 * proc's handlers and is never swallowed by a handle closed here. A signal the thread catches while not armed
 * is sent again to the process, for its default effect.
 *
 * The hook: at the deadline the thread asks the main thread, through an inspector session (`Runtime.evaluate`,
 * served by V8 interrupts even inside a busy loop), to run `globalThis[Symbol.for(`${hook}#${threadId}`)]` with
 * `(signal, arrivedAt, exitCode, debuggerChecked)`: the first signal the thread saw and when (or nulls), the exit
 * code of a sequence that has ended, and whether the thread has looked for a debugger holding the main thread.
 * The hook ends the process (closing the inspector as it exits, if it is open, so that Node waits for no
 * debugger), or answers `HOOK_ASKS_DEBUGGER_CHECK` when the inspector is open and that look is still due: the
 * thread then enables the Debugger domain on its session, which reports `Debugger.paused` at once if the main
 * thread is held at a breakpoint, disables it, and calls the hook again or leaves the developer alone (below).
 * A main thread that /proc shows running code (Linux) is not held at a breakpoint: that look counts as done.
 * When the hook answers anything else, the main thread was not blocked (the hook is not in the realm the
 * inspector evaluates in, or exiting was intercepted), and the process is left running.
 *
 * The thread's steps past the deadline D: the main thread's own timer gets until D + `grace`; then a report
 * being built or output being flushed gets its time (above); then the hook; a main thread waiting in a
 * synchronous child-process call, which runs no JavaScript, has that child ended so the call returns (the hook
 * runs then); then SIGKILL, after a line on stderr. A main thread held at a breakpoint is the developer's: the
 * thread says so once, looks again every `debuggerPoll`, and counts a new deadline from when it finds it resumed
 * (the proc's own timer, overdue, ends the sequence as soon as the loop turns). Where the inspector cannot be
 * used (the permission model does not allow it, or Node is built without it), there is no hook: a loop blocked in
 * JavaScript is ended by that SIGKILL, and a main thread waiting on a child by the proc's overdue timer once the
 * child is ended.
 */

/** Where each value lives in the shared buffer: an index into the Int32 view or the Float64 view. */
export interface WatchdogLayout {
	/** Bytes before the Float64 slots. */
	readonly f64Offset: number;
	/** Int32, main side: bumped after each change, so that the thread wakes and reads again. */
	readonly generation: number;
	/** Int32, main side: 1 while the proc handles the signals; 0 once it has let go (the signals' defaults apply). */
	readonly armed: number;
	/** Int32, main side: where the sequence is, as far as the thread cares (see PHASE). */
	readonly phase: number;
	/** Int32, main side: the exit code of a sequence that has ended (written with `ending`). */
	readonly exitCode: number;
	/** Int32, thread: how many of the watched signals arrived; written after the values it publishes. */
	readonly arrivals: number;
	/** Int32, thread: 1 while it watches the signals itself; set to 0 and notified when it stops. */
	readonly watching: number;
	/** Int32, thread: index (in `signals`) of the first signal that arrived. */
	readonly firstSignal: number;
	/** Float64, main side: the sequence's deadline, epoch ms; 0 while none has started. */
	readonly deadline: number;
	/** Float64, main side: the proc's force-quit time, for a deadline counted from a signal the proc has not handled. */
	readonly timeToForceQuit: number;
	/**
	 * Float64, thread: when each of the first `arrivalsKept` watched signals arrived, epoch ms, in order from this
	 * slot on: the first signal's deadline, and each repeat's own time (a repeat's judge needs the time of the
	 * one it judges, not how many came near the thread's reading of the first, which a loaded machine delays).
	 */
	readonly arrivalTimes: number;
	/** How many arrival times are kept: the first signal and the repeats a tool may send (nodemon's three). */
	readonly arrivalsKept: number;
}

export const LAYOUT: WatchdogLayout = {
	f64Offset: 64,
	generation: 0,
	armed: 1,
	phase: 2,
	exitCode: 3,
	arrivals: 4,
	watching: 5,
	firstSignal: 6,
	deadline: 0,
	timeToForceQuit: 1,
	arrivalTimes: 2,
	arrivalsKept: 4,
};

/** The shared buffer's size: the Int32 slots, then room for eight Float64 slots. */
export const BUFFER_BYTES = LAYOUT.f64Offset + 8 * 8;

/** The phases of a sequence, in the order the main side moves through them; the thread gets this object at boot. */
export const PHASE = { running: 0, started: 1, reporting: 2, ending: 3 } as const;
export type Phases = typeof PHASE;

/** The thread's times past the deadline, in ms (see the steps above). */
export interface WatchdogTimes {
	/** How long past the deadline the main thread's own timer gets before the thread steps in. */
	readonly grace: number;
	/** How long the main thread gets to answer the hook before its children, then the process, are killed. */
	readonly answer: number;
	/** How often the thread looks again whether a debugger still holds the main thread at a breakpoint. */
	readonly debuggerPoll: number;
	/** How long a report being built may hold the thread back, past the deadline. */
	readonly reportCap: number;
	/** How long past the deadline an ended sequence may still take to hand its output to the OS. */
	readonly ending: number;
	/**
	 * The same for a sequence the hook ended inside a blocked loop: its report is built only after the hook ran,
	 * past the deadline (onReport's full report until `BLOCKED_REPORT_MS`, report.ts), then written, and the
	 * process exits; SIGKILL after that still leaves it gone within one second of the deadline.
	 */
	readonly hookEnding: number;
}

/**
 * All within one second of the deadline: grace, then the hook's answer, then a waited-on child ended and the
 * answer again, then SIGKILL. A sequence that has ended (the report is out) and still flushes its output gets
 * until `ending` (`hookEnding` when the hook ended it).
 */
export const WATCHDOG_TIMES: WatchdogTimes = { grace: 150, answer: 250, debuggerPoll: 500, reportCap: 5000, ending: 400, hookEnding: 850 };

/** The prefix of the key under which the main thread leaves the hook (the thread's id follows a `#`). */
export const WATCHDOG_HOOK = 'graceful-proc.watchdog';

/** What the hook answers, instead of ending the process, when the inspector is open and the thread has not yet looked for a paused debugger. */
export const HOOK_ASKS_DEBUGGER_CHECK = 'check-debugger';

/** What the thread boots with (its `workerData`). */
export interface WatchdogThreadData {
	readonly buffer: SharedArrayBuffer;
	readonly pid: number;
	/** The signals the proc handles; the thread watches them too where it can. */
	readonly signals: readonly string[];
	/** `WATCHDOG_HOOK`: the key of the main thread's hook, without the `#<threadId>` that ends it. */
	readonly hook: string;
	/**
	 * Why the thread must not open an inspector session to the main thread, or '' when it may. Under the permission
	 * model without the inspector allowed, Node aborts the whole process on that call (a native assertion).
	 */
	readonly noInspector: string;
	readonly layout: WatchdogLayout;
	readonly phase: Phases;
	readonly times: WatchdogTimes;
	/** `HOOK_ASKS_DEBUGGER_CHECK`. */
	readonly hookAsksDebuggerCheck: string;
}
