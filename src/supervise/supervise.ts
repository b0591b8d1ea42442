import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createDebug } from '../debug.js';
import { proc as processWideProc } from '../index.js';
import type { ListenerContext, WaitFunction } from '../types.js';
import { backoffDelay } from './backoff.js';
import { type ResolvedOptions, resolveOptions, type SuperviseOptions, type SuperviseState } from './options.js';
import { parentWatchdog } from './parent-watchdog.js';
import { forwardOutput } from './forward-output.js';
import { createLinePrefixer } from './prefix-lines.js';
import { onShutdownStart } from './shutdown-start.js';
import { SideStops } from './side-stops.js';
import { SuperviseError } from './supervise-error.js';

const log = createDebug('supervise');

/**
 * On shutdown the SIGKILL lands this long before the proc's force-quit deadline, so that the child is gone
 * (and its exit seen) before the parent exits.
 */
const DEADLINE_MARGIN_MS = 100;

/**
 * A child's last lines can still be in its pipes when its exit is reported. They are waited for this long at
 * most (a grandchild holding the pipes open must not hold up the supervisor).
 */
const OUTPUT_GRACE_MS = 250;

const isWindows = process.platform === 'win32';

/**
 * Where a proc takes reservations of listener time, so that the force-quit time it was not given follows
 * from what was registered. By `Symbol.for`, so that a proc of another copy of the package is reached
 * too; a proc that lacks it (an older copy) is simply not asked.
 */
const RESERVE_TIME = Symbol.for('graceful-proc.reserveTime');

type ReserveTime = (phase: 'wrap-up' | 'shutdown', ms: number, who: string) => () => void;

/** The longest a timer can wait; a reservation is never asked for more. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The handle `supervise()` returns. */
export interface SupervisedProcess extends EventEmitter {
	/** The child's name (`options.name`). */
	readonly name: string;
	/** Where the child is in its life; every change emits `'state'`. */
	readonly state: SuperviseState;
	/** The running child's pid; undefined before it is spawned, in backoff and once it has exited. */
	readonly pid: number | undefined;
	/** How many times a new child was started after the first (by the policy or by `restart()`). */
	readonly restarts: number;
	/** The exit code of the last run, null if it ended by a signal or has not ended yet. */
	readonly exitCode: number | null;
	/** The signal that ended the last run, if one did. */
	readonly signalCode: NodeJS.Signals | null;
	/** Why the state is `'fatal'`. */
	readonly error: SuperviseError | undefined;
	/**
	 * Stop for good: `stopSignal`, then SIGKILL after `stopTimeout`; no restart after that. Resolves once
	 * the child has exited; calling it again returns the same promise.
	 */
	stop(): Promise<void>;
	/**
	 * Stop the child (as `stop()` does) and start a new one at once, without backoff; also brings an
	 * `'exited'` or `'fatal'` child back. Resolves once the new child is spawned. Rejects once shutdown has started.
	 */
	restart(): Promise<void>;
	/**
	 * A graceful replacement of a `'running'` child: a new child is spawned first (state `'starting'`) and, once
	 * it has stayed up for `startSecs`, takes over (state `'running'`, `restarts` + 1) while the old one is
	 * stopped as `stop()` does. Resolves once the old child has exited; at no moment does no child run. If the
	 * replacement cannot be spawned or exits before `startSecs`, the old child keeps running (state back to
	 * `'running'`) and it rejects with the reason. Rejects at once during shutdown, while stopping, and when no
	 * child is running; `stop()` and shutdown during a reload stop both children and reject it.
	 */
	reload(): Promise<void>;

	on(event: 'state', listener: (state: SuperviseState, previous: SuperviseState) => void): this;
	on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
	on(event: 'error', listener: (error: SuperviseError) => void): this;
	on(event: string | symbol, listener: (...args: any[]) => void): this;
	once(event: 'state', listener: (state: SuperviseState, previous: SuperviseState) => void): this;
	once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
	once(event: 'error', listener: (error: SuperviseError) => void): this;
	once(event: string | symbol, listener: (...args: any[]) => void): this;
	off(event: 'state', listener: (state: SuperviseState, previous: SuperviseState) => void): this;
	off(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
	off(event: 'error', listener: (error: SuperviseError) => void): this;
	off(event: string | symbol, listener: (...args: any[]) => void): this;
}

interface Deferred {
	promise: Promise<void>;
	resolve(): void;
	reject(error: unknown): void;
}

function deferred(): Deferred {
	let resolve!: () => void;
	let reject!: (error: unknown) => void;
	const promise = new Promise<void>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	// Whoever asked may not await it; a failure is reported through the state and 'error' instead.
	promise.catch(() => {});
	return { promise, resolve, reject };
}

interface StopRequest extends Deferred {
	/** What follows the exit: the end (`stop()`, shutdown) or a new child (`restart()`). The last call wins. */
	then: 'exit' | 'restart';
	/** Settles once the new child is spawned, or rejects when none will be. */
	readonly restarted: Deferred;
	killAt: number;
	killTimer: ReturnType<typeof setTimeout> | undefined;
	readonly aborts: Array<[AbortSignal, () => void]>;
}

interface ReloadRequest extends Deferred {
	/** The new child while it starts; it takes over once it has stayed up for `startSecs`. */
	replacement: ChildProcess | undefined;
	startedAt: number;
	startTimer: ReturnType<typeof setTimeout> | undefined;
	/** The old child exited by itself while the replacement was starting: the replacement is the child now. */
	promoted: boolean;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
	return signal === null ? `exit code ${code}` : `signal ${signal}`;
}

export class Supervisor extends EventEmitter implements SupervisedProcess {
	readonly name: string;
	readonly command: string;
	readonly args: readonly string[];
	readonly #o: ResolvedOptions;
	#state: SuperviseState = 'starting';
	#child: ChildProcess | undefined;
	#startedAt = 0;
	#restarts = 0;
	/** Failed starts in a row; a good start sets it back to 0. */
	#failures = 0;
	#exitCode: number | null = null;
	#signalCode: NodeJS.Signals | null = null;
	#error: SuperviseError | undefined;
	#spawnScheduled = false;
	/** Settles with the next spawn. */
	#spawned: Deferred = deferred();
	/** Tells a late spawn failure of an earlier child from one of the current child. */
	#generation = 0;
	#startTimer: ReturnType<typeof setTimeout> | undefined;
	#backoffTimer: ReturnType<typeof setTimeout> | undefined;
	#stop: StopRequest | undefined;
	/** True while 'exit' listeners run: the child is gone but what follows is not decided yet. */
	#exiting = false;
	#wait: WaitFunction | undefined;
	#usesWatchdog = false;
	#offShutdownStart: (() => void) | undefined;
	/** Gives back the shutdown-phase time reserved with the proc. */
	#releaseTime: (() => void) | undefined;
	#reload: ReloadRequest | undefined;
	/** Children that are no longer the handle's child (a reload's old child, a cancelled replacement), until they have exited. */
	readonly #sideStops = new SideStops({
		signal: (child, signal) => this.#signalChild(child, signal),
		onKillAt: (child, killAt) => {
			if (child.pid !== undefined && this.#usesWatchdog) parentWatchdog.stopping(child.pid, killAt);
		},
	});

	constructor(command: string, args: readonly string[], options: ResolvedOptions) {
		super();
		this.command = command;
		this.args = args;
		this.#o = options;
		this.name = options.name;
		if (options.proc.signal.aborted) {
			throw new Error(`Cannot supervise \`${this.name}\`: shutdown has already started`);
		}
		this.#activate();
		// Spawned on the next tick, so that listeners attached right after supervise() see every event.
		this.#spawnScheduled = true;
		process.nextTick(() => {
			if (this.#spawnScheduled) this.#spawn();
		});
	}

	get state(): SuperviseState {
		return this.#state;
	}

	get pid(): number | undefined {
		return this.#child?.pid;
	}

	get restarts(): number {
		return this.#restarts;
	}

	get exitCode(): number | null {
		return this.#exitCode;
	}

	get signalCode(): NodeJS.Signals | null {
		return this.#signalCode;
	}

	get error(): SuperviseError | undefined {
		return this.#error;
	}

	stop(): Promise<void> {
		return this.#beginStop('exit')?.promise ?? this.#sideStops.all();
	}

	reload(): Promise<void> {
		if (this.#o.proc.signal.aborted) {
			return Promise.reject(new Error(`Cannot reload \`${this.name}\`: shutdown has started`));
		}
		if (this.#reload !== undefined) return this.#reload.promise;
		const state = this.#state;
		if (state !== 'running' || this.#child === undefined || this.#stop !== undefined) {
			return Promise.reject(
				new Error(`Cannot reload \`${this.name}\`: it is ${state}, and reload() replaces a running child (wait for 'running', or use restart())`),
			);
		}
		const request: ReloadRequest = { ...deferred(), replacement: undefined, startedAt: 0, startTimer: undefined, promoted: false };
		const failed = (cause: unknown): void => {
			if (this.#reload === request) {
				this.#reload = undefined;
				if (this.#state === 'starting' && this.#child !== undefined) this.#setState('running');
			}
			const detail = cause instanceof Error ? cause.message : String(cause);
			request.reject(
				new SuperviseError(`Could not start a replacement for \`${this.name}\` (${detail}); the old child keeps running`, { child: this.name, cause }),
			);
		};
		let child: ChildProcess;
		try {
			child = this.#launch();
		} catch (error) {
			failed(error);
			return request.promise;
		}
		this.#reload = request;
		const { pid } = child;
		log('%s: reloading: replacement %s spawned', this.name, pid ?? '(failed)');
		this.#setState('starting');
		if (pid === undefined) {
			// The reason (ENOENT, EACCES, a cwd that is gone) arrives as an 'error' event.
			child.once('error', failed);
			return request.promise;
		}
		this.#wire(child, pid);
		request.replacement = child;
		request.startedAt = performance.now();
		request.startTimer = setTimeout(() => this.#takeOver(request), this.#o.startMs);
		// The children keep the parent alive; this timer only reports on them.
		request.startTimer.unref?.();
		return request.promise;
	}

	/** The replacement has stayed up for `startSecs`: it is the child now, and the old one is stopped. */
	#takeOver(request: ReloadRequest): void {
		if (this.#reload !== request) return;
		this.#reload = undefined;
		request.startTimer = undefined;
		this.#failures = 0;
		if (request.promoted) {
			this.#setState('running');
			request.resolve();
			return;
		}
		const replacement = request.replacement!;
		request.replacement = undefined;
		const old = this.#child!;
		this.#child = replacement;
		this.#startedAt = request.startedAt;
		this.#restarts += 1;
		log('%s: reloading: %d took over from %d, which is stopped now', this.name, replacement.pid, old.pid);
		this.#setState('running');
		this.#sideStops.stop(old, this.#o.stopSignal, Date.now() + this.#o.stopTimeout).then(request.resolve, request.reject);
	}

	/** Cancels a reload under way (stop(), restart(), shutdown): its replacement, if any, is stopped too. */
	#cancelReload(why: string): void {
		const request = this.#reload;
		if (request === undefined) return;
		this.#reload = undefined;
		clearTimeout(request.startTimer);
		const replacement = request.promoted ? undefined : request.replacement;
		request.replacement = undefined;
		if (replacement?.pid !== undefined) void this.#sideStops.stop(replacement, this.#o.stopSignal, Date.now() + this.#o.stopTimeout);
		request.reject(new Error(`The reload of \`${this.name}\` was cancelled: ${why}`));
	}

	/** A child that is not the handle's child has exited: a replacement that failed to start, or an old one stopped. */
	#onOtherExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
		const request = this.#reload;
		if (request !== undefined && request.replacement === child) {
			clearTimeout(request.startTimer);
			this.#reload = undefined;
			if (this.#state === 'starting' && this.#child !== undefined) this.#setState('running');
			log('%s: reloading: the replacement exited (%s) before it counted as started', this.name, describeExit(code, signal));
			request.reject(
				new SuperviseError(
					`The replacement for \`${this.name}\` ended with ${describeExit(code, signal)} before it counted as started (${this.#o.startMs / 1000}s); the old child keeps running`,
					{ child: this.name, exitCode: code, signalCode: signal },
				),
			);
			return;
		}
		if (!this.#sideStops.exited(child)) return;
		this.#exitCode = code;
		this.#signalCode = signal;
		this.emit('exit', code, signal);
	}

	restart(): Promise<void> {
		if (this.#o.proc.signal.aborted) {
			return Promise.reject(new Error(`Cannot restart \`${this.name}\`: shutdown has started`));
		}
		const state = this.#state;
		if (state === 'exited' || state === 'fatal') {
			this.#error = undefined;
			this.#activate();
			return this.#startNow();
		}
		if (this.#child === undefined && !this.#exiting && this.#stop === undefined) {
			// In backoff, or the first spawn is still to come.
			return this.#spawnScheduled ? this.#spawned.promise : this.#startNow();
		}
		return this.#beginStop('restart')!.restarted.promise;
	}

	/** Registers with the proc (and the parent watchdog); undone by #finish, so a stopped handle leaves nothing behind. */
	#activate(): void {
		const { proc } = this.#o;
		this.#wait = proc.addShutdownListener((ctx) => this.#onShutdown(ctx), { name: `supervise:${this.name}` });
		this.#offShutdownStart ??= onShutdownStart(proc.signal, this.#onAbort);
		this.#reserveTime();
		if (this.#o.watchdog && !this.#usesWatchdog) {
			parentWatchdog.acquire();
			this.#usesWatchdog = true;
		}
	}

	/**
	 * The stop listener runs in the shutdown phase and may rightly take `stopTimeout`, then the SIGKILL margin
	 * and the wait for the child's last output: reserved, so that a default force-quit time does not cut it.
	 */
	#reserveTime(): void {
		if (this.#releaseTime !== undefined) return;
		const ms = Math.min(MAX_TIMER_MS, this.#o.stopTimeout + DEADLINE_MARGIN_MS + OUTPUT_GRACE_MS);
		try {
			const proc = this.#o.proc as unknown as { [RESERVE_TIME]?: ReserveTime };
			const release = proc[RESERVE_TIME]?.call(proc, 'shutdown', ms, `supervise:${this.name}`);
			if (typeof release === 'function') this.#releaseTime = release;
		} catch (error) {
			// Another copy's proc may say no; supervision goes on with the times as they are.
			log('%s: could not reserve %d ms with the proc: %o', this.name, ms, error);
		}
	}

	#deactivate(): void {
		this.#wait?.remove();
		this.#wait = undefined;
		this.#offShutdownStart?.();
		this.#offShutdownStart = undefined;
		this.#releaseTime?.();
		this.#releaseTime = undefined;
		if (this.#usesWatchdog) {
			parentWatchdog.release();
			this.#usesWatchdog = false;
		}
	}

	/** Shutdown has started: from now on nothing is started again. The child itself is stopped in the shutdown phase. */
	readonly #onAbort = (): void => {
		// A replacement still starting is not started for good any more; the old child is stopped in the shutdown phase.
		if (this.#reload !== undefined && !this.#reload.promoted) {
			this.#cancelReload('shutdown has started');
			if (this.#state === 'starting' && this.#child !== undefined) this.#setState('running');
		}
		if (this.#child === undefined && !this.#exiting && !this.#stop) {
			log('%s: shutdown started while nothing runs; not starting again', this.name);
			this.#finish('exited');
		}
	};

	async #onShutdown(ctx: ListenerContext): Promise<void> {
		await (this.#beginStop('exit', ctx.deadline - DEADLINE_MARGIN_MS, ctx.signal)?.promise ?? this.#sideStops.all());
	}

	#setState(state: SuperviseState): void {
		const previous = this.#state;
		if (state === previous) return;
		this.#state = state;
		log('%s: %s -> %s', this.name, previous, state);
		this.emit('state', state, previous);
	}

	/** A restart by hand: no backoff, and the count of failed starts begins again. Settles with the spawn. */
	#startNow(): Promise<void> {
		clearTimeout(this.#backoffTimer);
		this.#backoffTimer = undefined;
		this.#failures = 0;
		this.#restarts += 1;
		const { promise } = this.#spawned;
		this.#spawn();
		return promise;
	}

	#spawn(): void {
		this.#spawnScheduled = false;
		const spawned = this.#spawned;
		const generation = ++this.#generation;
		let child: ChildProcess;
		try {
			child = this.#launch();
		} catch (error) {
			this.#spawnFailed(error, spawned);
			return;
		}
		const { pid } = child;
		if (pid === undefined) {
			// The reason (ENOENT, EACCES, a missing cwd) arrives as an 'error' event. Nothing runs meanwhile, so
			// a stop() in between simply ends the handle.
			child.once('error', (error) => {
				if (generation === this.#generation && this.#state === 'starting') this.#spawnFailed(error, spawned);
				else spawned.reject(error);
			});
			this.#setState('starting');
			return;
		}
		this.#child = child;
		this.#startedAt = performance.now();
		this.#wire(child, pid);
		const o = this.#o;
		log('%s: spawned %d', this.name, pid);
		this.#spawned = deferred();
		spawned.resolve();
		if (o.startMs === 0) {
			this.#failures = 0;
			this.#setState('starting');
			this.#setState('running');
		} else {
			this.#startTimer = setTimeout(() => {
				this.#startTimer = undefined;
				if (this.#child !== child || this.#state !== 'starting') return;
				// A good start: the next crash starts the backoff over.
				this.#failures = 0;
				this.#setState('running');
			}, o.startMs);
			// The child's own handle keeps the parent alive; this timer only reports on it.
			this.#startTimer.unref?.();
			this.#setState('starting');
		}
	}

	/** Spawns a child as the options say; throws what spawn() throws synchronously. */
	#launch(): ChildProcess {
		const o = this.#o;
		if (this.#usesWatchdog) parentWatchdog.ensure();
		const stdio: StdioOptions = o.stdio === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', o.stdio, o.stdio];
		// No shell: the arguments reach the program exactly as given.
		return spawn(this.command, this.args, { cwd: o.cwd, env: o.env, stdio, detached: o.killGroup && !isWindows, windowsHide: true });
	}

	/** What every spawned child gets: its exit watched, the watchdog told, its output forwarded. */
	#wire(child: ChildProcess, pid: number): void {
		const o = this.#o;
		// After a successful spawn, errors come from kill() (which reports them by return value here) or stdio.
		child.on('error', (error) => log('%s: child error: %o', this.name, error));
		child.once('exit', (code, signal) => this.#onProcessExit(child, pid, code, signal));
		if (this.#usesWatchdog) parentWatchdog.watch(pid, o.killGroup && !isWindows, o.stopSignal, o.stopTimeout);
		if (o.stdio === 'pipe') {
			const prefix = `[${this.name}] `;
			child.stdout?.on('error', () => {});
			child.stderr?.on('error', () => {});
			if (child.stdout) forwardOutput(child.stdout.pipe(createLinePrefixer(prefix)), o.stdout ?? process.stdout);
			if (child.stderr) forwardOutput(child.stderr.pipe(createLinePrefixer(prefix)), o.stderr ?? process.stderr);
		}
	}

	#spawnFailed(cause: unknown, spawned: Deferred): void {
		const detail = cause instanceof Error ? cause.message : String(cause);
		const error = new SuperviseError(`Could not start \`${this.name}\` (${detail})`, { child: this.name, cause });
		this.#spawned = deferred();
		spawned.reject(error);
		this.#fail(error);
	}

	/** The process is gone; its last output may still be on its way through the pipes. */
	#onProcessExit(child: ChildProcess, pid: number, code: number | null, signal: NodeJS.Signals | null): void {
		const current = child === this.#child;
		const aliveMs = performance.now() - this.#startedAt;
		const good = !current || this.#state === 'running' || aliveMs >= this.#o.startMs;
		if (current) {
			clearTimeout(this.#startTimer);
			this.#startTimer = undefined;
		}
		if (this.#usesWatchdog) parentWatchdog.unwatch(pid);
		if (this.#o.killGroup && !isWindows) {
			// The group lives and dies with the child: whatever it left behind had its stop signal already, or
			// is a stray of a crash that nobody else would ever stop.
			try {
				process.kill(-pid, 'SIGKILL');
				log('%s: killed what was left of process group %d', this.name, pid);
			} catch {}
		}
		log('%s: %d exited (%s) after %d ms', this.name, pid, describeExit(code, signal), Math.round(aliveMs));
		if (child.stdout === null && child.stderr === null) {
			this.#onExit(child, code, signal, good);
			return;
		}
		let settled = false;
		const settle = (): void => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			this.#onExit(child, code, signal, good);
		};
		// 'close' comes once the pipes are drained, so the last lines are written before anyone hears of the exit.
		const timer = setTimeout(settle, OUTPUT_GRACE_MS);
		child.once('close', settle);
	}

	#onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, good: boolean): void {
		if (this.#child !== child) {
			this.#onOtherExit(child, code, signal);
			return;
		}
		const request = this.#reload;
		if (request !== undefined && request.promoted) {
			// The replacement, already the child, did not last startSecs: the reload failed; the policy decides what follows.
			this.#reload = undefined;
			clearTimeout(request.startTimer);
			request.reject(
				new SuperviseError(
					`The replacement for \`${this.name}\` ended with ${describeExit(code, signal)} before it counted as started (${this.#o.startMs / 1000}s)`,
					{ child: this.name, exitCode: code, signalCode: signal },
				),
			);
		} else if (request?.replacement !== undefined && this.#stop === undefined) {
			// The old child ended by itself while its replacement was starting: the replacement is the child from now on.
			this.#child = request.replacement;
			this.#startedAt = request.startedAt;
			request.replacement = undefined;
			request.promoted = true;
			this.#restarts += 1;
			this.#exitCode = code;
			this.#signalCode = signal;
			log('%s: exited (%s) during its reload; the replacement takes over', this.name, describeExit(code, signal));
			this.emit('exit', code, signal);
			return;
		}
		this.#child = undefined;
		this.#exitCode = code;
		this.#signalCode = signal;
		this.#exiting = true;
		try {
			this.emit('exit', code, signal);
		} finally {
			this.#exiting = false;
			this.#afterExit(code, signal, good);
		}
	}

	#afterExit(code: number | null, signal: NodeJS.Signals | null, good: boolean): void {
		const stop = this.#stop;
		if (stop !== undefined) {
			this.#stop = undefined;
			clearTimeout(stop.killTimer);
			for (const [abortSignal, onAbort] of stop.aborts) abortSignal.removeEventListener('abort', onAbort);
			if (stop.then === 'restart' && !this.#o.proc.signal.aborted) {
				this.#startNow().then(stop.restarted.resolve, stop.restarted.reject);
			} else {
				this.#finish('exited');
				stop.restarted.reject(new Error(`\`${this.name}\` was stopped before it could be restarted`));
			}
			// Also the children stopped on the side (a reload's old child or cancelled replacement).
			this.#sideStops.all().then(stop.resolve, stop.resolve);
			return;
		}
		if (this.#o.proc.signal.aborted) {
			this.#finish('exited');
			return;
		}
		const success = signal === null && code !== null && this.#o.expectedExitCodes.includes(code);
		const policy = this.#o.restart;
		if (policy === 'never' || (policy === 'on-failure' && success)) {
			this.#finish('exited');
			return;
		}
		if (!good) this.#failures += 1;
		if (this.#failures > this.#o.maxRestarts) {
			const startSecs = this.#o.startMs / 1000;
			this.#fail(
				new SuperviseError(
					`\`${this.name}\` failed ${this.#failures} start${this.#failures === 1 ? '' : 's'} in a row (the last ended with ${describeExit(code, signal)} ` +
						`before ${startSecs}s), more than maxRestarts (${this.#o.maxRestarts}); not restarting it`,
					{ child: this.name, exitCode: code, signalCode: signal },
				),
			);
			return;
		}
		const delay = backoffDelay(this.#failures, this.#o.backoff);
		log('%s: restarting in %d ms (%d failed starts in a row)', this.name, delay, this.#failures);
		// Not unref'd: in a parent that only supervises, this timer is what keeps supervision going.
		this.#backoffTimer = setTimeout(() => {
			this.#backoffTimer = undefined;
			this.#restarts += 1;
			this.#spawn();
		}, delay);
		this.#setState('backoff');
	}

	#fail(error: SuperviseError): void {
		this.#error = error;
		this.#finish('fatal');
		// An 'error' nobody listens to would crash the parent, which is worse than the child being gone:
		// without a listener the state says it, and a process warning shows it.
		if (this.listenerCount('error') > 0) {
			this.emit('error', error);
		} else {
			log('%s: %s', this.name, error.message);
			process.emitWarning(error.message, { code: 'GRACEFUL_PROC_SUPERVISE_FATAL', type: 'SuperviseError' });
		}
	}

	#finish(state: 'exited' | 'fatal'): void {
		clearTimeout(this.#backoffTimer);
		this.#backoffTimer = undefined;
		this.#spawnScheduled = false;
		this.#deactivate();
		this.#setState(state);
	}

	/**
	 * Stops the running child: `stopSignal` now, SIGKILL at `stopTimeout` or `killAt`, whichever comes first.
	 * Returns undefined when nothing runs (the handle has simply ended).
	 */
	#beginStop(then: 'exit' | 'restart', killAt?: number, abortSignal?: AbortSignal): StopRequest | undefined {
		this.#cancelReload(then === 'exit' ? 'the child is being stopped' : 'restart() came first');
		if (killAt !== undefined) this.#sideStops.hurry(killAt);
		if (abortSignal !== undefined && this.#sideStops.size > 0) {
			const killAll = (): void => this.#sideStops.killAll();
			if (abortSignal.aborted) killAll();
			else abortSignal.addEventListener('abort', killAll, { once: true });
		}
		let stop = this.#stop;
		if (stop === undefined) {
			const state = this.#state;
			if (state === 'exited' || state === 'fatal') return undefined;
			if (this.#child === undefined && !this.#exiting) {
				// Nothing runs: in backoff, or the first spawn is still to come. (restart() handles this case itself.)
				this.#finish('exited');
				return undefined;
			}
			stop = { ...deferred(), then, restarted: deferred(), killAt: Number.POSITIVE_INFINITY, killTimer: undefined, aborts: [] };
			this.#stop = stop;
			if (this.#child !== undefined) {
				log('%s: stopping with %s', this.name, this.#o.stopSignal);
				this.#signal(this.#o.stopSignal);
				this.#scheduleKill(stop, Date.now() + this.#o.stopTimeout);
				this.#setState('stopping');
			}
		} else {
			stop.then = then;
		}
		if (killAt !== undefined) this.#scheduleKill(stop, killAt);
		if (abortSignal !== undefined) {
			// The proc gave up waiting (force-quit): the child goes now, before the parent does.
			const onAbort = (): void => this.#signal('SIGKILL');
			if (abortSignal.aborted) onAbort();
			else {
				abortSignal.addEventListener('abort', onAbort, { once: true });
				stop.aborts.push([abortSignal, onAbort]);
			}
		}
		return stop;
	}

	#scheduleKill(stop: StopRequest, killAt: number): void {
		if (killAt >= stop.killAt || this.#child === undefined) return;
		stop.killAt = killAt;
		clearTimeout(stop.killTimer);
		const pid = this.#child.pid;
		if (pid !== undefined && this.#usesWatchdog) parentWatchdog.stopping(pid, killAt);
		stop.killTimer = setTimeout(
			() => {
				log('%s: still running after the stop timeout; SIGKILL', this.name);
				this.#signal('SIGKILL');
			},
			Math.max(0, killAt - Date.now()),
		);
	}

	#signal(signal: NodeJS.Signals): void {
		if (this.#child !== undefined) this.#signalChild(this.#child, signal);
	}

	#signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
		const pid = child.pid;
		if (pid === undefined) return;
		if (this.#o.killGroup && !isWindows) {
			try {
				process.kill(-pid, signal);
			} catch (error) {
				log('%s: signalling group %d failed: %o', this.name, pid, error);
			}
		} else {
			child.kill(signal);
		}
	}
}

/**
 * Starts `command` with `args` (no shell: nothing in them is interpreted) and keeps it running per
 * `options.restart`; stops it gracefully when the proc shuts down. Bad input throws a TypeError or
 * RangeError before anything is spawned or registered.
 *
 * @example
 * const worker = supervise(process.execPath, ['worker.js'], { name: 'worker', killGroup: true })
 * worker.on('state', (state) => console.log('worker is', state))
 */
export function supervise(command: string, args?: readonly string[], options?: SuperviseOptions): SupervisedProcess {
	const resolved = resolveOptions(command, args, options, () => processWideProc);
	return new Supervisor(resolved.command, resolved.args, resolved.options);
}
