/**
 * The watchdog thread's code, one self-contained function: `watchdog.ts` hands its source text to
 * `new Worker(..., { eval: true })`, so it may use nothing from this module's scope, only globals and its
 * argument (the constants it needs come in `data`). The protocol with the main side is written in `layout.ts`.
 *
 * While the service runs, the thread is idle: no timer fires, it only waits on shared memory. It keeps the
 * force-quit deadline for the cases the main thread's own timer cannot:
 * - a listener blocks the event loop (`for (;;) {}`): at the deadline it asks the main thread, through the
 *   inspector (whose messages are served by V8 interrupts, even inside a busy loop), to run the hook that writes
 *   the report and exits with code 1;
 * - the loop was already blocked when the signal arrived (so no JavaScript handler ran): where the thread can
 *   watch the signals itself, it learns the arrival time and keeps the deadline from there;
 * - a listener is blocked in a system call waiting on a child (`execSync('sleep 30')`): JavaScript cannot run
 *   until the call returns, so the thread ends that child (with its descendants), the call returns and the
 *   pending hook runs;
 * - nothing answers: SIGKILL (which a PID namespace's init ignores: then it says so on stderr).
 * It leaves alone a main thread that a debugger holds at a breakpoint, and never opens an inspector session
 * where Node's permissions deny it (the line before a SIGKILL is all the report there is then).
 */

import type { WatchdogThreadData } from './layout.js';

/** Runs in the worker thread: see the top of this file. Self-contained on purpose. */
export function watchdogThread(data: WatchdogThreadData): void {
	/* eslint-disable */
	// process.getBuiltinModule, not require(): the bundler would rewrite a require() in this ESM module.
	const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
	const os = process.getBuiltinModule('node:os') as typeof import('node:os');
	const { buffer, pid, signals, hook, noInspector, layout: L, phase: PHASE, times, hookAsksDebuggerCheck } = data;
	const { threadId, parentPort } = process.getBuiltinModule('node:worker_threads') as typeof import('node:worker_threads');
	const hookKey = `${hook}#${threadId}`;
	const i32 = new Int32Array(buffer, 0, L.f64Offset / 4);
	const f64 = new Float64Array(buffer, L.f64Offset);
	// Keeps this thread's loop alive while it waits (a pending Atomics.waitAsync does not); fires every 24 days.
	const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
	let timer: ReturnType<typeof setTimeout> | undefined;
	let scheduledFor = 0;
	let handles: Array<{ close(): void }> = [];
	let ended = false;

	// Deno asks before a file is read (a prompt at a terminal, which would hold this thread): /proc is read only
	// where its flags allow it without asking.
	const readable = (path: string): boolean => {
		const permissions = (globalThis as any).Deno?.permissions;
		if (typeof permissions?.querySync !== 'function') return true;
		try {
			return permissions.querySync({ name: 'read', path }).state === 'granted';
		} catch {
			return false;
		}
	};

	const say = (message: string) => {
		try {
			fs.writeSync(2, `graceful-proc: ${message}\n`);
		} catch {}
	};

	// Signals. libuv delivers a signal to every event loop that has a handle for it, so a handle here learns
	// of a SIGTERM while the main loop is blocked. Node's only way to make one in a worker is the internal
	// `signal_wrap` binding through process.binding(): present (runtime-deprecated) on Node 20 and 22, gone
	// on Node 24. Its deprecation warning would be about this thread's own use, so it is kept off this
	// thread's stderr; where the binding is missing the thread does without, and the deadline counts from
	// the moment the main thread handles the signal.
	let Signal: (new () => any) | undefined;
	try {
		const p = process as unknown as { binding?: (name: string) => any; noDeprecation?: boolean };
		if (typeof p.binding === 'function') {
			const quiet = p.noDeprecation;
			p.noDeprecation = true;
			try {
				Signal = p.binding('signal_wrap')?.Signal;
			} finally {
				p.noDeprecation = quiet;
			}
		}
	} catch {}

	/** Watches the signals while the main thread handles them (armed), and only then. */
	function startWatching(): void {
		if (handles.length > 0 || typeof Signal !== 'function') return;
		const started: Array<{ close(): void }> = [];
		try {
			signals.forEach((name, index) => {
				const number = (os.constants.signals as Record<string, number>)[name];
				if (typeof number !== 'number') return;
				const handle = new Signal!();
				handle.onsignal = () => arrived(index, name);
				started.push(handle);
				if (handle.start(number) !== 0) throw new Error(`cannot watch ${name}`);
			});
			handles = started;
		} catch {
			for (const handle of started) handle.close();
			handles = [];
		}
		Atomics.store(i32, L.watching, handles.length > 0 ? 1 : 0);
	}
	// On an arrival while let go of (the main thread's handlers may be gone), arrived() gives the signal its default effect.
	if (Atomics.load(i32, L.armed) === 1) startWatching();
	// Let go of while the handles were being started: the main thread did not wait for them.
	if (Atomics.load(i32, L.armed) === 0) stopWatching();

	// Booted: says whether it watches the signals (tests wait for this; nothing else needs to).
	parentPort?.postMessage(handles.length > 0);

	function arrived(index: number, name: string): void {
		const now = Date.now();
		if (Atomics.load(i32, L.armed) === 0) {
			// The main thread has let go of its handlers: what the process does without them (for most signals,
			// end) must not be swallowed by this handle. Stop watching and deliver the signal again.
			stopWatching();
			try {
				process.kill(pid, name);
			} catch {}
			return;
		}
		const count = Atomics.load(i32, L.arrivals);
		if (count === 0) Atomics.store(i32, L.firstSignal, index);
		if (count < L.arrivalsKept) f64[L.arrivalTimes + count] = now;
		// Written last: the main thread reads the count first, then the values written before it.
		Atomics.add(i32, L.arrivals, 1);
		schedule();
	}

	function stopWatching(): void {
		for (const handle of handles) {
			try {
				handle.close();
			} catch {}
		}
		handles = [];
		Atomics.store(i32, L.watching, 0);
		Atomics.notify(i32, L.watching);
	}

	/** The deadline: the one the main thread set, or one counted from a signal it has not handled yet. */
	function deadline(): number {
		const set = f64[L.deadline]!;
		const fromSignal = Atomics.load(i32, L.arrivals) > 0 ? f64[L.arrivalTimes]! + f64[L.timeToForceQuit]! : 0;
		if (set > 0 && fromSignal > 0) return Math.min(set, fromSignal);
		return set > 0 ? set : fromSignal;
	}

	function schedule(): void {
		if (ended) return;
		const at = deadline();
		if (at === 0) {
			clearTimeout(timer);
			timer = undefined;
			scheduledFor = 0;
			return;
		}
		if (timer !== undefined && scheduledFor === at) return;
		clearTimeout(timer);
		scheduledFor = at;
		timer = setTimeout(() => {
			timer = undefined;
			void fire(at);
		}, Math.max(0, at + times.grace - Date.now()));
	}

	const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

	/** Waits while a report is being built (bounded library work: it must be written before any SIGKILL). */
	async function whileReporting(at: number): Promise<void> {
		while (Atomics.load(i32, L.phase) === PHASE.reporting && Date.now() < at + times.reportCap) await sleep(10);
	}

	/**
	 * The report is out and the main thread hands its output to the OS, then exits by itself: it gets until
	 * `ending` past the deadline, and at least a short while after a report that was late to come out.
	 */
	let endingSeenAt: number | undefined;
	async function whileEnding(at: number, hookEnded = false): Promise<void> {
		if (Atomics.load(i32, L.phase) !== PHASE.ending) return;
		endingSeenAt ??= Date.now();
		const until = hookEnded ? at + times.hookEnding : Math.min(at + times.reportCap, Math.max(at + times.ending, endingSeenAt + times.answer));
		while (Atomics.load(i32, L.phase) === PHASE.ending && Date.now() < until) await sleep(10);
	}

	type Session = {
		post(method: string, params: object, callback: (error: unknown, result: any) => void): void;
		on(event: string, listener: () => void): void;
		off(event: string, listener: () => void): void;
	};
	let session: Session | undefined;
	/** Why the session could not be opened (a runtime without one into the main thread: Deno, Bun), or ''. */
	let unreachable = '';
	/** The session to the main thread, opened at its first use; none where the inspector cannot be used. */
	function connect(): Session | undefined {
		// Without the inspector no JavaScript can be run on a blocked main thread: what remains is in fire().
		if (noInspector !== '' || session !== undefined || unreachable !== '') return session;
		try {
			const inspector = process.getBuiltinModule('node:inspector') as typeof import('node:inspector');
			const s = new inspector.Session();
			s.connectToMainThread();
			session = s as unknown as Session;
		} catch (error) {
			unreachable = String((error as Error)?.message ?? error) || 'no inspector session into the main thread';
		}
		return session;
	}

	/** Resolves with the result, or undefined for an error; never while the main thread does not answer. */
	function send(s: Session, method: string, params: object = {}): Promise<any> {
		return new Promise((resolve) => s.post(method, params, (error, result) => resolve(error ? undefined : result)));
	}

	const TIMED_OUT: unique symbol = Symbol('timed out');
	function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
		return Promise.race<T | typeof TIMED_OUT>([promise, sleep(ms).then((): typeof TIMED_OUT => TIMED_OUT)]);
	}

	/**
	 * Set when the main thread ran the hook and returned from it: it is not blocked, and the process is still
	 * there because the hook is not in the realm the inspector evaluates in (a module loaded in a `vm` context, as
	 * jest does) or because exiting was intercepted. It is then left alone: only a main thread that does not
	 * answer is ended by force.
	 */
	let answered = false;
	/** Asks the main thread to run the hook; resolves with what it answered (never if it ends the process). */
	function callHook(debuggerChecked: boolean): Promise<unknown> | undefined {
		const s = connect();
		if (s === undefined) return undefined;
		const first = Atomics.load(i32, L.arrivals) > 0 ? signals[Atomics.load(i32, L.firstSignal)] : undefined;
		const args = JSON.stringify([first ?? null, first ? f64[L.arrivalTimes] : null, Atomics.load(i32, L.exitCode), debuggerChecked]);
		const expression = `globalThis[Symbol.for(${JSON.stringify(hookKey)})]?.(...${args})`;
		return send(s, 'Runtime.evaluate', { expression, returnByValue: true }).then((result) => {
			const value = result?.result?.value;
			if (result !== undefined && value !== hookAsksDebuggerCheck) answered = true;
			return value;
		});
	}

	/**
	 * Whether a debugger holds the main thread at a breakpoint: enabling the Debugger domain reports
	 * `Debugger.paused` before its answer if so. Disabled again at once: a session that kept it enabled would
	 * keep the main thread paused after the developer's debugger detached.
	 */
	async function heldAtBreakpoint(s: Session): Promise<boolean> {
		let paused = false;
		const onPaused = () => {
			paused = true;
		};
		s.on('Debugger.paused', onPaused);
		const enabled = await within(send(s, 'Debugger.enable'), times.answer);
		s.off('Debugger.paused', onPaused);
		void send(s, 'Debugger.disable');
		return enabled !== TIMED_OUT && paused;
	}

	/**
	 * Whether the main thread waits as it does inside a synchronous child-process call: in epoll under Node
	 * (which runs a private event loop until the child is gone), in wait4/waitid under Deno (which waits for the
	 * child itself); not in JavaScript, nor in another call (a read, a futex) that ending a child would not
	 * release. Linux only; the numbers are x64's and arm64's epoll_wait/epoll_pwait(2), then wait4/waitid(2).
	 */
	function mainThreadWaitsOnChild(): boolean {
		if (!readable('/proc')) return false;
		try {
			const text = fs.readFileSync(`/proc/${pid}/task/${pid}/syscall`, 'utf8').trim();
			const number = /^\d+/.exec(text)?.[0];
			if (number === undefined) return false;
			const waits: Record<string, string[]> = { x64: ['232', '281', '441', '61', '247'], arm64: ['22', '441', '260', '95'] };
			return waits[process.arch]?.includes(number) ?? true;
		} catch {
			return false;
		}
	}

	/**
	 * Whether the main thread is running code (a loop blocked in JavaScript) rather than waiting in a system call.
	 * A main thread that a debugger holds at a breakpoint waits for the debugger's messages, so one running code
	 * is not held there, and the debugger need not be asked: enabling the Debugger domain makes the main thread
	 * report every script it has loaded (about 36 ms of CPU for a small service), which a loaded machine
	 * stretched past the time the hook has to answer. Linux only; false where it cannot be told.
	 */
	function mainThreadRunsCode(): boolean {
		try {
			const text = fs.readFileSync(`/proc/${pid}/task/${pid}/syscall`, 'utf8').trim();
			return text === 'running' || text.startsWith('-1 ');
		} catch {
			return false;
		}
	}

	/** The pids in a `/proc/.../children` file (children of one task), or none if it cannot be read. */
	function childList(file: string): number[] {
		try {
			return fs.readFileSync(file, 'utf8').trim().split(/\s+/).filter((s) => s !== '').map(Number);
		} catch {
			return [];
		}
	}

	/** The children of every task (thread) of a process. */
	function childrenOf(parent: number): number[] {
		let tasks: string[] = [];
		try {
			tasks = fs.readdirSync(`/proc/${parent}/task`);
		} catch {}
		return tasks.flatMap((tid) => childList(`/proc/${parent}/task/${tid}/children`));
	}

	function startTime(child: number): number {
		try {
			const stat = fs.readFileSync(`/proc/${child}/stat`, 'utf8');
			// Fields after the command (which may hold spaces and parentheses): state is field 3, starttime 22.
			return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
		} catch {
			return -1;
		}
	}

	/**
	 * A main thread stuck in a system call runs no JavaScript, so the hook waits. A synchronous child process
	 * call (`execSync`, `spawnSync`) is the common case: the main thread cannot have started another child
	 * since, so the child it waits on is its youngest. Ending it (and what it started: the call also waits for
	 * the pipes they hold) lets the call return; the hook then runs.
	 */
	function killWaitedChild(): boolean {
		if (!mainThreadWaitsOnChild()) return false;
		// The main thread's own children (not those of other threads), each with its start time, read once.
		const children = childList(`/proc/${pid}/task/${pid}/children`).map((child) => ({ child, started: startTime(child) }));
		if (children.length === 0) return false;
		const youngest = children.reduce((a, b) => (b.started > a.started ? b : a)).child;
		const tree = [youngest];
		for (let i = 0; i < tree.length && tree.length < 10_000; i++) tree.push(...childrenOf(tree[i]!));
		for (const victim of tree) {
			try {
				process.kill(victim, 'SIGKILL');
			} catch {}
		}
		return true;
	}

	/** A debugger holds the main thread at a breakpoint: it is the developer's until it resumes (said once). */
	let saidHeld = false;
	async function waitOutBreakpoint(): Promise<void> {
		if (!saidHeld) {
			say('the force-quit deadline passed while a debugger holds the main thread at a breakpoint; it is left to the debugger, and the deadline holds again once it resumes');
			saidHeld = true;
		}
		do await sleep(times.debuggerPoll);
		while (await heldAtBreakpoint(session!));
	}

	async function fire(at: number): Promise<void> {
		if (ended || deadline() !== at) return;
		ended = true;
		let debuggerChecked = false;
		let hookCalled = false;
		for (;;) {
			await whileReporting(at);
			await whileEnding(at);
			// Still here: the main thread is blocked (in a listener, or in onReport or the logger after the report),
			// or a debugger holds it.
			const answer = callHook(debuggerChecked || mainThreadRunsCode());
			hookCalled ||= answer !== undefined;
			if (answer === undefined || (await within(answer, times.answer)) !== hookAsksDebuggerCheck) break;
			// The inspector is open: a developer may hold the main thread at a breakpoint, which is theirs.
			debuggerChecked = true;
			if (!(await heldAtBreakpoint(session!))) continue;
			await waitOutBreakpoint();
			// Resumed: the proc's own timer, overdue, ends the sequence as soon as the loop turns. Counted anew from here.
			at = Date.now();
			debuggerChecked = false;
			await sleep(times.grace);
		}
		// The hook may have started a report that takes a while: it is written before anything is killed, and
		// handed to the OS (by `ending` past the deadline) as the process exits.
		await whileReporting(at);
		await whileEnding(at, hookCalled);
		if (!answered && killWaitedChild()) {
			// The system call returns now, and the hook, waiting in the inspector's queue, runs (without the
			// inspector, the proc's own timer does, overdue: the same forced end, with the full report).
			await sleep(times.answer);
			await whileReporting(at);
			await whileEnding(at, hookCalled);
		}
		if (answered) {
			say('the force-quit deadline passed, and the main thread, not blocked, answered but did not exit; it is left running');
			return;
		}
		stopWatching();
		say(
			`the force-quit deadline passed ${Date.now() - at} ms ago and the event loop is still blocked, ` +
				(noInspector !== '' || unreachable !== ''
					? `with no report: the watchdog cannot reach the main thread without the inspector (${noInspector || unreachable})`
					: 'and the main thread does not answer (it waits in a system call, or the report is not coming out)') +
				': SIGKILL',
		);
		try {
			process.kill(pid, 'SIGKILL');
		} catch {}
		await sleep(200);
		// Still here: SIGKILL sent from inside a PID namespace to its init (PID 1) is ignored by the kernel.
		say(
			`the force-quit deadline passed ${Date.now() - at} ms ago and the process could not be ended` +
				(pid === 1 ? ' (it is PID 1, which ignores SIGKILL from inside its namespace; run it under an init such as tini or `docker run --init`)' : ''),
		);
		clearInterval(keepAlive);
	}

	function wake(): void {
		const generation = Atomics.load(i32, L.generation);
		// Let go of by the main thread (its last listener is being removed): stop watching the signals, and say
		// so. The main thread waits for that before it removes its own handlers, so that a signal arriving
		// meanwhile reaches its handlers as well and is never lost with a handle closed here.
		if (Atomics.load(i32, L.armed) === 0) stopWatching();
		else startWatching();
		schedule();
		const waiting = (Atomics as any).waitAsync(i32, L.generation, generation);
		if (waiting.async) waiting.value.then(wake);
		else wake();
	}
	wake();
	/* eslint-enable */
}
