/**
 * `supervise()` and the Supervisor behind its handle: one child's life (spawn, counted as started, exit, the
 * restart policy with backoff, stop and restart by hand). Reloads, stops under way, spawning (when and how) and what
 * a handle registers with the proc are modules of their own.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createDebug } from '../debug.js';
import { proc as processWideProc } from '../index.js';
import { procInForce } from '../testing-protocol.js';
import { ChildStops } from './child-stops.js';
import { decideRestart } from './decide-restart.js';
import { type ResolvedOptions, resolveOptions, type SuperviseOptions, type SuperviseState } from './options.js';
import { Registration } from './registration.js';
import { Reload, type ReloadHost, reloadRefusal } from './reload.js';
import { SideStops } from './side-stops.js';
import { Spawner } from './spawner.js';
import type { StartWatch } from './start-watch.js';
import type { StopRequest } from './stop-request.js';
import type { SupervisedProcess } from './supervised-process.js';
import { emitFatal, SuperviseError } from './supervise-error.js';

export type { SupervisedProcess } from './supervised-process.js';

const log = createDebug('supervise');

export class Supervisor extends EventEmitter implements SupervisedProcess {
	readonly name: string;
	readonly command: string;
	readonly args: readonly string[];
	readonly #o: ResolvedOptions;
	#state: SuperviseState = 'starting';
	#child: ChildProcess | undefined;
	/** When the current child counts as started. */
	#watch: StartWatch | undefined;
	#restarts = 0;
	/** Failed starts in a row; a good start sets it back to 0. */
	#failures = 0;
	#exitCode: number | null = null;
	#signalCode: NodeJS.Signals | null = null;
	#error: SuperviseError | undefined;
	readonly #spawner: Spawner;
	readonly #stops: ChildStops;
	/** True while 'exit' listeners run: the child is gone but what follows is not decided yet. */
	#exiting = false;
	#reload: Reload | undefined;
	readonly #registration: Registration;
	/** Children that are no longer the handle's child (a reload's old child, a cancelled replacement), until they have exited. */
	readonly #sideStops: SideStops;

	constructor(command: string, args: readonly string[], options: ResolvedOptions) {
		super();
		this.command = command;
		this.args = args;
		this.#o = options;
		this.name = options.name;
		if (options.proc.signal.aborted) {
			throw new Error(`Cannot supervise \`${this.name}\`: shutdown has already started`);
		}
		this.#registration = new Registration(options, {
			onShutdown: (killAt, signal) => this.#onShutdown(killAt, signal),
			onShutdownStart: () => this.#onShutdownStart(),
		});
		this.#sideStops = new SideStops(options, () => this.#registration.watchdog);
		this.#stops = new ChildStops(options, () => this.#registration.watchdog);
		this.#spawner = new Spawner({
			command,
			args,
			options,
			watchdog: () => this.#registration.watchdog,
			exited: (child, code, signal) => this.#onProcessExit(child, code, signal),
			spawned: (child, watch) => this.#spawned(child, watch),
			spawning: () => this.#setState('starting'),
			starting: () => this.#state === 'starting',
			failed: (error) => this.#fail(error),
		});
		this.#registration.activate();
		this.#spawner.soon();
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
		return this.#beginStop('exit')?.exited.promise ?? this.#sideStops.all();
	}

	restart(): Promise<void> {
		if (this.#o.proc.signal.aborted) {
			return Promise.reject(new Error(`Cannot restart \`${this.name}\`: shutdown has started`));
		}
		const state = this.#state;
		if (state === 'exited' || state === 'fatal') {
			this.#error = undefined;
			this.#registration.activate();
			return this.#startNow();
		}
		if (this.#child === undefined && !this.#exiting && this.#stops.current === undefined) {
			// In backoff, or the first spawn is still to come.
			return this.#spawner.dueSoon ? this.#spawner.next : this.#startNow();
		}
		return this.#beginStop('restart')!.restarted.promise;
	}

	reload(): Promise<void> {
		const shuttingDown = this.#o.proc.signal.aborted;
		if (this.#reload !== undefined && !shuttingDown) return this.#reload.promise;
		const refusal = reloadRefusal(this.name, shuttingDown, this.#state, this.#child !== undefined && this.#stops.current === undefined);
		if (refusal !== undefined) return Promise.reject(refusal);
		const reload = new Reload(this.#reloadHost());
		this.#reload = reload;
		reload.begin();
		return reload.promise;
	}

	/** What a reload may do to this handle. */
	#reloadHost(): ReloadHost {
		return {
			options: this.#o,
			sideStops: this.#sideStops,
			spawn: () => this.#spawner.launch(),
			adopt: (child, watch) => {
				const old = this.#child;
				this.#child = child;
				this.#watch = watch;
				this.#restarts += 1;
				return old;
			},
			started: () => this.#started(this.#child),
			notReady: (error) => this.#stopUnready(this.#child, error),
			keepOld: () => {
				if (this.#state === 'starting' && this.#child !== undefined) this.#setState('running');
			},
			ended: (reload) => {
				if (this.#reload === reload) this.#reload = undefined;
			},
			setState: (state) => this.#setState(state),
		};
	}

	/** Shutdown has started: from now on nothing is started again. The child itself is stopped in the shutdown phase. */
	#onShutdownStart(): void {
		this.#reload?.shutdownStarted();
		if (this.#child === undefined && !this.#exiting && !this.#stops.current) {
			log('%s: shutdown started while nothing runs; not starting again', this.name);
			this.#finish('exited');
		}
	}

	async #onShutdown(killAt: number, signal: AbortSignal): Promise<void> {
		await (this.#beginStop('exit', killAt, signal)?.exited.promise ?? this.#sideStops.all());
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
		this.#spawner.cancel();
		this.#failures = 0;
		this.#restarts += 1;
		const promise = this.#spawner.next;
		this.#spawner.spawn();
		return promise;
	}

	/** A child runs: the handle's child from now on, `'starting'` until it counts as started. */
	#spawned(child: ChildProcess, watch: StartWatch): void {
		this.#child = child;
		this.#watch = watch;
		this.#setState('starting');
		if (watch.immediate) this.#started(child);
		else watch.arm(child, { started: () => this.#started(child), notReady: (error) => this.#stopUnready(child, error) });
	}

	/** A good start: the state is 'running', and the next crash starts the backoff over. */
	#started(child: ChildProcess | undefined): void {
		if (this.#child !== child || this.#state !== 'starting') return;
		this.#failures = 0;
		this.#setState('running');
	}

	/** The child was not ready in time: it is stopped, and its exit counts as a failed start. */
	#stopUnready(child: ChildProcess | undefined, error: SuperviseError): void {
		if (this.#child !== child || this.#state !== 'starting' || this.#stops.current !== undefined) return;
		log('%s: %s; stopping it', this.name, error.message);
		this.#stops.notReady(child, error);
	}

	/** The process is gone; returns what follows once its last output has come through. */
	#onProcessExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): () => void {
		const watch = child === this.#child ? this.#watch : undefined;
		const good = watch === undefined || this.#state === 'running' || watch.reached();
		watch?.cancel();
		return () => this.#onExit(child, code, signal, good);
	}

	#onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, good: boolean): void {
		if (this.#child !== child) {
			this.#onOtherExit(child, code, signal);
			return;
		}
		this.#exitCode = code;
		this.#signalCode = signal;
		if (this.#reload?.childExited(code, signal, this.#stops.current !== undefined)) {
			this.emit('exit', code, signal);
			return;
		}
		this.#child = undefined;
		this.#exiting = true;
		try {
			this.emit('exit', code, signal);
		} finally {
			this.#exiting = false;
			this.#afterExit(code, signal, good);
		}
	}

	/** A child that is not the handle's child has exited: a replacement that failed to start, or one stopped on the side. */
	#onOtherExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
		if (this.#reload?.otherExited(child, code, signal) || !this.#sideStops.exited(child)) return;
		this.#exitCode = code;
		this.#signalCode = signal;
		this.emit('exit', code, signal);
	}

	#afterExit(code: number | null, signal: NodeJS.Signals | null, good: boolean): void {
		const { notReady, stop } = this.#stops.exited();
		if (stop !== undefined) return this.#afterStop(stop);
		const shuttingDown = this.#o.proc.signal.aborted;
		const decision = decideRestart({ code, signal, good, notReady, failures: this.#failures, shuttingDown }, this.#o);
		if (decision.then === 'exit') this.#finish('exited');
		else if (decision.then === 'give-up') this.#fail(decision.error);
		else {
			this.#failures = decision.failures;
			log('%s: restarting in %d ms (%d failed starts in a row)', this.name, decision.delay, this.#failures);
			this.#spawner.after(decision.delay, () => {
				this.#restarts += 1;
				this.#spawner.spawn();
			});
			this.#setState('backoff');
		}
	}

	/** The child a stop was waiting for has exited: the end, or a new child for restart(). */
	#afterStop(stop: StopRequest): void {
		if (stop.then === 'restart' && !this.#o.proc.signal.aborted) {
			this.#startNow().then(stop.restarted.resolve, stop.restarted.reject);
		} else {
			this.#finish('exited');
			stop.restarted.reject(new Error(`\`${this.name}\` was stopped before it could be restarted`));
		}
		// Also the children stopped on the side (a reload's old child or cancelled replacement).
		this.#sideStops.all().then(stop.exited.resolve, stop.exited.resolve);
	}

	#fail(error: SuperviseError): void {
		this.#error = error;
		this.#finish('fatal');
		emitFatal(this, this.name, error);
	}

	#finish(state: 'exited' | 'fatal'): void {
		this.#spawner.cancel();
		this.#registration.deactivate();
		this.#setState(state);
	}

	/**
	 * Stops the running child: `stopSignal` now, SIGKILL at `stopTimeout` or `killAt`, whichever comes first.
	 * Returns undefined when nothing runs (the handle has simply ended).
	 */
	#beginStop(then: 'exit' | 'restart', killAt?: number, abortSignal?: AbortSignal): StopRequest | undefined {
		this.#reload?.cancel(then === 'exit' ? 'the child is being stopped' : 'restart() came first');
		if (killAt !== undefined) this.#sideStops.hurry(killAt);
		if (abortSignal !== undefined) this.#sideStops.killAllOnAbort(abortSignal);
		let stop = this.#stops.current;
		if (stop === undefined) {
			const state = this.#state;
			if (state === 'exited' || state === 'fatal') return undefined;
			if (this.#child === undefined && !this.#exiting) {
				// Nothing runs: in backoff, or the first spawn is still to come. (restart() handles this case itself.)
				this.#finish('exited');
				return undefined;
			}
			const begun = this.#stops.begin(then, this.#child);
			stop = begun.stop;
			if (begun.stopping) this.#setState('stopping');
		} else {
			stop.then = then;
		}
		if (killAt !== undefined) stop.killBy(killAt);
		if (abortSignal !== undefined) stop.killOnAbort(abortSignal);
		return stop;
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
	const resolved = resolveOptions(command, args, options, () => procInForce(processWideProc));
	return new Supervisor(resolved.command, resolved.args, resolved.options);
}
