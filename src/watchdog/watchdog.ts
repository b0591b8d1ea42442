/**
 * The force-quit watchdog's main-thread side: the `Watchdog` a proc starts with its signal handlers. It owns the
 * shared memory and the worker thread that keeps the deadline when the event loop is blocked (`thread.ts`);
 * `layout.ts` describes the protocol between them.
 */
import type * as WorkerThreads from 'node:worker_threads';
import type * as Inspector from 'node:inspector';
import { BUFFER_BYTES, HOOK_ASKS_DEBUGGER_CHECK, LAYOUT, PHASE, WATCHDOG_HOOK, WATCHDOG_TIMES, type WatchdogThreadData } from './layout.js';
import { granted } from '../runtime-permissions.js';
import { watchdogThread } from './thread.js';

export interface WatchdogOptions {
	readonly pid: number;
	readonly signals: readonly string[];
	readonly timeToForceQuit: number;
	/**
	 * Called on the main thread, from inside whatever blocks it, at the deadline: with the first signal the
	 * watchdog saw and when it arrived (`null` when it saw none), so that a sequence the blocked loop never
	 * started can be ended as well, and the exit code of a sequence that has already ended.
	 */
	onDeadline(signal: string | null, arrivedAt: number | null, exitCode: number): void;
	/** The thread could not run: the deadline then holds for everything but a blocked event loop. */
	onError(error: unknown): void;
}

/** What the watchdog saw of the signals, where it can watch them. */
export interface SignalArrivals {
	/** How many of the watched signals arrived. */
	readonly count: number;
	/** When each of the first ones arrived (epoch ms), in order: `min(count, LAYOUT.arrivalsKept)` of them. */
	readonly at: readonly number[];
}

let source: string | undefined;

/** Set on the first warning that the watchdog runs without the inspector: said once per process, for every proc and copy. */
const WARNED_NO_INSPECTOR = Symbol.for('graceful-proc.watchdog.warnedNoInspector');
export const WATCHDOG_LIMITED = 'GRACEFUL_PROC_WATCHDOG_LIMITED';

/**
 * Why the watchdog thread must not open an inspector session to the main thread in this process, or '' when it
 * may. Read from what Node says of itself (`process.permission`, `process.features`), not learned from a
 * failure: under the permission model, a worker's `connectToMainThread()` without the inspector allowed is a
 * native assertion that aborts the whole process.
 */
export function inspectorUnavailable(): string {
	const node = process as { permission?: { has(scope: string): boolean }; features?: { inspector?: boolean } };
	if (node.features?.inspector === false) return 'this Node is built without the inspector';
	if (node.permission === undefined) return '';
	let allowed = false;
	try {
		allowed = node.permission.has('inspector') === true;
	} catch {}
	if (allowed) return '';
	const flag = process.allowedNodeEnvironmentFlags?.has('--allow-inspector') ? '; --allow-inspector allows it' : ', and this Node has no flag to allow it';
	return `the permission model does not allow the inspector${flag}`;
}

/**
 * Why the thread must not try an inspector session where the runtime asks for a permission first, or '': Deno
 * asks for `--allow-sys` (at a terminal, a prompt that would hold the thread past the deadline). Not warned about
 * at startup, unlike inspectorUnavailable(): the permission would not bring the report back where the runtime has
 * no session into the main thread (Deno and Bun throw at `connectToMainThread()`; the thread then says so at the
 * deadline), so there is nothing to act on.
 */
export function inspectorNeedsPermission(): string {
	return granted({ name: 'sys', kind: 'inspector' }) ? '' : 'Deno opens an inspector session only with --allow-sys';
}

/** How long a released watchdog thread waits to be armed again before it ends. */
const RELEASED_THREAD_MS = 10_000;
/** The longest the main thread waits for the thread to close its signal handles when it is released. */
const RELEASE_WAIT_MS = 100;

/**
 * The main thread's side of the force-quit watchdog: one idle worker thread, started when a proc installs its
 * signal handlers (so that it is booted and waiting when shutdown starts, and the shutdown itself only writes
 * to shared memory), and ended when the process exits or the handlers are removed.
 */
export class Watchdog {
	readonly #worker: WorkerThreads.Worker;
	readonly #i32: Int32Array;
	readonly #f64: Float64Array;
	readonly #hook: symbol;
	readonly #signals: readonly string[];
	#released = false;
	#stopped = false;
	#endTimer: ReturnType<typeof setTimeout> | undefined;

	/**
	 * Starts one, or returns undefined where none may run: inside a worker thread (a watchdog there could only
	 * kill the whole process, which belongs to the main thread; the thread's owner ends a stuck thread with
	 * `worker.terminate()`). Throws if the thread cannot be created.
	 */
	static start(options: WatchdogOptions): Watchdog | undefined {
		// Loaded here, not at import: worker_threads is not among the modules Node has ready at startup.
		const threads = process.getBuiltinModule('node:worker_threads') as typeof WorkerThreads;
		if (!threads.isMainThread) return undefined;
		return new Watchdog(threads, options);
	}

	private constructor(threads: typeof WorkerThreads, options: WatchdogOptions) {
		const buffer = new SharedArrayBuffer(BUFFER_BYTES);
		this.#i32 = new Int32Array(buffer, 0, LAYOUT.f64Offset / 4);
		this.#f64 = new Float64Array(buffer, LAYOUT.f64Offset);
		this.#i32[LAYOUT.armed] = 1;
		this.#signals = [...options.signals];
		this.#f64[LAYOUT.timeToForceQuit] = options.timeToForceQuit;
		source ??= `(${watchdogThread.toString()})(require('node:worker_threads').workerData)`;
		const noInspector = inspectorUnavailable();
		const asksFirst = inspectorNeedsPermission();
		const data: WatchdogThreadData = {
			buffer,
			hook: WATCHDOG_HOOK,
			pid: options.pid,
			signals: [...options.signals],
			noInspector: noInspector || asksFirst,
			layout: LAYOUT,
			phase: PHASE,
			times: WATCHDOG_TIMES,
			hookAsksDebuggerCheck: HOOK_ASKS_DEBUGGER_CHECK,
		};
		this.#worker = new threads.Worker(source, {
			eval: true,
			workerData: data,
			// As little as a thread can take: no copy of the environment, none of the parent's flags (an --inspect
			// or --cpu-prof meant for the application), no stdio of its own.
			env: threads.SHARE_ENV,
			execArgv: [],
			stdin: false,
			stdout: true,
			stderr: true,
			trackUnmanagedFds: false,
			resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
		});
		// The hook's key names the thread, so that two procs (or two copies of the package) never share one.
		this.#hook = Symbol.for(`${WATCHDOG_HOOK}#${this.#worker.threadId}`);
		const hook = (signal: string | null, arrivedAt: number | null, exitCode: number, debuggerChecked = false) => {
			const inspector = openInspector();
			if (inspector !== undefined) {
				// Past the deadline, this process's exit (now, or once a debugger lets it go) waits for no debugger.
				closeAtExit(inspector);
				// A developer may be debugging: the thread first looks whether a debugger holds this thread at a breakpoint.
				if (!debuggerChecked) return HOOK_ASKS_DEBUGGER_CHECK;
			}
			options.onDeadline(signal, arrivedAt, exitCode);
			return undefined;
		};
		// For tests: settles once the thread has booted, with whether it watches the signals itself.
		hook.watching = new Promise<boolean>((resolve) => {
			this.#worker.once('message', resolve);
			this.#worker.once('exit', () => resolve(false));
		});
		(globalThis as Record<symbol, unknown>)[this.#hook] = hook;
		this.#worker.unref();
		this.#worker.on('error', (error) => {
			if (!this.#stopped) options.onError(error);
		});
		if (noInspector !== '') warnNoInspector(noInspector);
	}

	/** The proc's force-quit time changed: a deadline counted from a signal the main thread has not seen follows it. */
	setTimeToForceQuit(ms: number): void {
		if (this.#f64[LAYOUT.timeToForceQuit] === ms) return;
		this.#f64[LAYOUT.timeToForceQuit] = ms;
		if (Atomics.load(this.#i32, LAYOUT.arrivals) > 0) this.#wake();
	}

	/** The sequence started (or its deadline moved): two stores and a notify, the whole cost on the shutdown path. */
	setDeadline(deadline: number): void {
		this.#f64[LAYOUT.deadline] = deadline;
		if (Atomics.load(this.#i32, LAYOUT.phase) < PHASE.started) Atomics.store(this.#i32, LAYOUT.phase, PHASE.started);
		this.#wake();
	}

	/** A report is being built: bounded library work that the fallback waits for (up to `reportCap`). */
	reporting(): void {
		Atomics.store(this.#i32, LAYOUT.phase, PHASE.reporting);
	}

	/** The report is built; what follows (the application's hooks, flushing output, exit) is held to the deadline. */
	ending(exitCode: number): void {
		Atomics.store(this.#i32, LAYOUT.exitCode, exitCode);
		Atomics.store(this.#i32, LAYOUT.phase, PHASE.ending);
	}

	/** The signals' arrival times as the watchdog saw them; undefined where it cannot watch signals (Node 24+). */
	arrivals(): SignalArrivals | undefined {
		if (Atomics.load(this.#i32, LAYOUT.watching) !== 1) return undefined;
		const count = Atomics.load(this.#i32, LAYOUT.arrivals);
		const at: number[] = [];
		for (let i = 0; i < Math.min(count, LAYOUT.arrivalsKept); i++) at.push(this.#f64[LAYOUT.arrivalTimes + i]!);
		return { count, at };
	}

	/** Whether it is armed (the proc's handlers are installed). */
	get armed(): boolean {
		return !this.#released;
	}

	/**
	 * The handlers are about to be removed before any shutdown: the thread stops watching the signals (their
	 * defaults apply again) and ends after a while, unless a new listener arms it again before that: a
	 * service that registers and removes its only listener over and over does not start a thread each time.
	 * Call it while the proc's own handlers are still installed: it waits (microseconds; at most
	 * RELEASE_WAIT_MS) until the thread has closed its signal handles, so that no signal can be caught there
	 * and then dropped with the handle.
	 */
	release(): void {
		if (this.#released || this.#stopped) return;
		this.#released = true;
		Atomics.store(this.#i32, LAYOUT.armed, 0);
		this.#wake();
		Atomics.wait(this.#i32, LAYOUT.watching, 1, RELEASE_WAIT_MS);
		this.#endTimer = setTimeout(() => this.#stop(), RELEASED_THREAD_MS);
		this.#endTimer.unref?.();
	}

	/** Arms it again for the same signals; false if it has ended or watches others (start a new one then). */
	rearm(signals: readonly string[]): boolean {
		if (this.#stopped || signals.length !== this.#signals.length || signals.some((name, i) => name !== this.#signals[i])) return false;
		if (!this.#released) return true;
		clearTimeout(this.#endTimer);
		this.#released = false;
		Atomics.store(this.#i32, LAYOUT.armed, 1);
		this.#wake();
		return true;
	}

	#stop(): void {
		if (this.#stopped) return;
		this.#stopped = true;
		Atomics.store(this.#i32, LAYOUT.armed, 0);
		this.#wake();
		delete (globalThis as Record<symbol, unknown>)[this.#hook];
		void this.#worker.terminate().catch(() => {});
	}

	#wake(): void {
		Atomics.add(this.#i32, LAYOUT.generation, 1);
		Atomics.notify(this.#i32, LAYOUT.generation);
	}
}

/** What a watchdog without the inspector still does, said once per process when the first one starts. */
function warnNoInspector(because: string): void {
	const registry = globalThis as Record<symbol, unknown>;
	if (registry[WARNED_NO_INSPECTOR]) return;
	registry[WARNED_NO_INSPECTOR] = true;
	process.emitWarning(
		`graceful-proc: the force-quit watchdog runs without the inspector (${because}). A listener that blocks the event loop past ` +
			'the deadline is then ended by SIGKILL (exit 137) without the report; one that waits on a synchronous child process ' +
			'still ends with exit code 1 and the report.',
		{ code: WATCHDOG_LIMITED },
	);
}

/** The inspector module when the inspector is open (`--inspect`, `inspector.open()`, SIGUSR1), else undefined. */
function openInspector(): typeof Inspector | undefined {
	try {
		const inspector = process.getBuiltinModule('node:inspector') as typeof Inspector;
		return inspector.url() === undefined ? undefined : inspector;
	} catch {
		return undefined;
	}
}

/** Set once the process's exit is to close the inspector. */
let closingAtExit = false;

/**
 * Past the deadline with the inspector open: the inspector is closed as the process exits, after the report, so
 * that Node does not wait for debuggers to disconnect (the thread's own session among them, which kept a
 * `--inspect` process waiting until its SIGKILL; or a developer's debugger, still attached after it let a
 * breakpoint go). Closed at once if the process is already exiting: it is waiting for a debugger, past the deadline.
 */
function closeAtExit(inspector: typeof Inspector): void {
	const close = () => {
		try {
			inspector.close();
		} catch {}
	};
	if ((process as { _exiting?: boolean })._exiting === true) return close();
	if (closingAtExit) return;
	closingAtExit = true;
	process.once('exit', close);
}
