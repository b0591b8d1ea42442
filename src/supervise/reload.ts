/**
 * `reload()`: a graceful replacement of the running child. The replacement is spawned while the old child
 * runs; once it counts as started it becomes the handle's child and the old one is stopped on the side. If it
 * cannot be spawned, or ends before it counts as started, the old child is left alone and the reload rejects.
 */
import type { ChildProcess } from 'node:child_process';
import { createDebug } from '../debug.js';
import { type Deferred, deferred } from './deferred.js';
import type { ResolvedOptions, SuperviseState } from './options.js';
import type { SideStops } from './side-stops.js';
import { StartWatch, startRule } from './start-watch.js';
import { describeExit, SuperviseError } from './supervise-error.js';

const log = createDebug('supervise');

/** What a reload needs from its supervisor. */
export interface ReloadHost {
	readonly options: ResolvedOptions;
	readonly sideStops: SideStops;
	/** Spawns and watches a child as the handle's children are; throws what spawn() throws synchronously. */
	spawn(): ChildProcess;
	/** `child` is the handle's child from now on (`restarts` + 1); returns the one it replaces. */
	adopt(child: ChildProcess, watch: StartWatch): ChildProcess | undefined;
	/** The handle's child counts as started: state `'running'`, and the count of failed starts begins again. */
	started(): void;
	/** The handle's child was not ready in time: it is stopped, as a failed start. */
	notReady(error: SuperviseError): void;
	/** The old child keeps running: state back to `'running'` if the reload had made it `'starting'`. */
	keepOld(): void;
	/** This reload is over: it is no longer the handle's reload. */
	ended(reload: Reload): void;
	setState(state: SuperviseState): void;
}

/** Why `reload()` cannot begin now, or undefined when it can. */
export function reloadRefusal(name: string, shuttingDown: boolean, state: SuperviseState, replaceable: boolean): Error | undefined {
	if (shuttingDown) return new Error(`Cannot reload \`${name}\`: shutdown has started`);
	if (state === 'running' && replaceable) return undefined;
	return new Error(`Cannot reload \`${name}\`: it is ${state}, and reload() replaces a running child (wait for 'running', or use restart())`);
}

export class Reload {
	readonly #host: ReloadHost;
	readonly #done: Deferred = deferred();
	/** The new child while it starts, until it takes over. */
	#replacement: ChildProcess | undefined;
	#watch: StartWatch | undefined;
	/** The old child exited by itself while the replacement was starting: the replacement is the child now. */
	#promoted = false;
	/** Until the reload has succeeded, failed or been cancelled. */
	#active = true;

	constructor(host: ReloadHost) {
		this.#host = host;
	}

	/** Resolves once the old child has exited; rejects when the replacement fails or the reload is cancelled. */
	get promise(): Promise<void> {
		return this.#done.promise;
	}

	get promoted(): boolean {
		return this.#promoted;
	}

	/** A child that is not the handle's child has exited: if it is the replacement, the reload failed (true). */
	otherExited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): boolean {
		if (child !== this.#replacement || this.#promoted) return false;
		this.replacementEnded(code, signal);
		return true;
	}

	/** Spawns the replacement; the handle is `'starting'` until it takes over or fails. */
	begin(): void {
		const host = this.#host;
		const watch = new StartWatch(host.options);
		let child: ChildProcess;
		try {
			child = host.spawn();
		} catch (error) {
			this.#couldNotStart(error);
			return;
		}
		const { pid } = child;
		log('%s: reloading: replacement %s spawned', host.options.name, pid ?? '(failed)');
		host.setState('starting');
		if (pid === undefined) {
			// The reason (ENOENT, EACCES, a cwd that is gone) arrives as an 'error' event.
			child.once('error', (error) => this.#couldNotStart(error));
			return;
		}
		this.#replacement = child;
		this.#watch = watch;
		watch.arm(child, { started: () => this.#takeOver(), notReady: (error) => this.#notReady(error) });
	}

	/**
	 * The handle's child has exited. If it was the old child, exiting by itself while the replacement starts (and
	 * no stop is under way), the replacement is the child from now on: returns true. If it was the replacement,
	 * already the child, the reload failed (and the restart policy decides what follows).
	 */
	childExited(code: number | null, signal: NodeJS.Signals | null, stopping: boolean): boolean {
		if (this.#promoted) {
			this.replacementEnded(code, signal);
			return false;
		}
		const replacement = this.#replacement;
		if (replacement === undefined || stopping) return false;
		this.#replacement = undefined;
		this.#promoted = true;
		this.#host.adopt(replacement, this.#watch!);
		log('%s: exited (%s) during its reload; the replacement takes over', this.#host.options.name, describeExit(code, signal));
		return true;
	}

	/** Shutdown has started: a replacement that is not the child yet is not started for good any more. */
	shutdownStarted(): void {
		if (this.#promoted) return;
		this.cancel('shutdown has started');
		this.#host.keepOld();
	}

	/** The replacement ended before it counted as started. */
	replacementEnded(code: number | null, signal: NodeJS.Signals | null): void {
		const host = this.#host;
		const { name } = host.options;
		const promoted = this.#promoted;
		this.#over();
		// Promoted, it was the handle's only child: its exit goes on to the restart policy.
		if (!promoted) host.keepOld();
		log('%s: reloading: the replacement exited (%s) before it counted as started', name, describeExit(code, signal));
		const keeps = promoted ? '' : '; the old child keeps running';
		this.#done.reject(
			new SuperviseError(
				`The replacement for \`${name}\` ended with ${describeExit(code, signal)} before it counted as started (${startRule(host.options)})${keeps}`,
				{ child: name, exitCode: code, signalCode: signal },
			),
		);
	}

	/** Cancels the reload (stop(), restart(), shutdown): a replacement that is not the child yet is stopped too. */
	cancel(why: string): void {
		const { options, sideStops } = this.#host;
		const replacement = this.#promoted ? undefined : this.#replacement;
		this.#over();
		if (replacement?.pid !== undefined) void sideStops.stop(replacement, options.stopSignal, Date.now() + options.stopTimeout);
		this.#done.reject(new Error(`The reload of \`${options.name}\` was cancelled: ${why}`));
	}

	/** The replacement counts as started: it is the child now, and the old one is stopped. */
	#takeOver(): void {
		if (!this.#active) return;
		const host = this.#host;
		const replacement = this.#replacement;
		const promoted = this.#promoted;
		this.#over();
		if (promoted) {
			host.started();
			this.#done.resolve();
			return;
		}
		const old = host.adopt(replacement!, this.#watch!)!;
		log('%s: reloading: %d took over from %d, which is stopped now', host.options.name, replacement!.pid, old.pid);
		host.started();
		const { stopSignal, stopTimeout } = host.options;
		host.sideStops.stop(old, stopSignal, Date.now() + stopTimeout).then(this.#done.resolve, this.#done.reject);
	}

	/** The replacement was not ready within `readyTimeout`: it is stopped, and the old child, if any, keeps running. */
	#notReady(error: SuperviseError): void {
		if (!this.#active) return;
		const host = this.#host;
		const { name, stopSignal, stopTimeout, readyTimeout } = host.options;
		const replacement = this.#replacement;
		const promoted = this.#promoted;
		this.#over();
		if (promoted) host.notReady(error);
		else {
			host.keepOld();
			void host.sideStops.stop(replacement!, stopSignal, Date.now() + stopTimeout);
		}
		log('%s: reloading: the replacement was not ready within %d ms', name, readyTimeout);
		const keeps = promoted ? '' : '; the old child keeps running';
		this.#done.reject(new SuperviseError(`The replacement for \`${name}\` was not ready within readyTimeout (${readyTimeout} ms)${keeps}`, { child: name }));
	}

	#couldNotStart(cause: unknown): void {
		if (!this.#active) return;
		this.#over();
		this.#host.keepOld();
		const { name } = this.#host.options;
		const detail = cause instanceof Error ? cause.message : String(cause);
		this.#done.reject(new SuperviseError(`Could not start a replacement for \`${name}\` (${detail}); the old child keeps running`, { child: name, cause }));
	}

	#over(): void {
		this.#active = false;
		this.#watch?.cancel();
		this.#replacement = undefined;
		this.#host.ended(this);
	}
}
