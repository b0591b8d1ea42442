/**
 * How a handle's children are spawned: the first on the next tick after supervise(), the next at the end of a
 * crash's backoff or at once for restart(); each launched, wired (its exit, output, the parent watchdog) and given
 * to the handle with the watch that says when it counts as started, and the promise restart() waits on settled.
 */
import type { ChildProcess } from 'node:child_process';
import { createDebug } from '../debug.js';
import { type Deferred, deferred } from './deferred.js';
import { launch, wireChild } from './launch.js';
import type { ResolvedOptions } from './options.js';
import type { ParentWatchdog } from './parent-watchdog.js';
import { StartWatch } from './start-watch.js';
import { SuperviseError } from './supervise-error.js';

const log = createDebug('supervise');

/** What the spawner needs from its handle. */
export interface SpawnerHost {
	readonly command: string;
	readonly args: readonly string[];
	readonly options: ResolvedOptions;
	/** The parent watchdog, if the handle has a share of it: made before a child is spawned, and told of each. */
	watchdog(): ParentWatchdog | undefined;
	/** A child is gone; returns what follows once its last output has come through (see wireChild). */
	exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): () => void;
	/** A child runs: it is the handle's child from now on, and `watch` says when it counts as started. */
	spawned(child: ChildProcess, watch: StartWatch): void;
	/** Spawned without a process: the handle is `'starting'` until the reason arrives as an 'error' event. */
	spawning(): void;
	/** Whether the handle is still `'starting'`: a spawn failure that arrives later only counts then. */
	starting(): boolean;
	/** No child could be started (ENOENT, EACCES, a missing cwd): the handle has failed. */
	failed(error: SuperviseError): void;
}

export class Spawner {
	readonly #host: SpawnerHost;
	/** The first spawn is due on the next tick. */
	#soon = false;
	#backoffTimer: ReturnType<typeof setTimeout> | undefined;
	/** Settles with the next spawn. */
	#next: Deferred = deferred();
	/** Tells a late spawn failure of an earlier child from one of the current child. */
	#generation = 0;

	constructor(host: SpawnerHost) {
		this.#host = host;
	}

	/** Whether the first spawn is still to come, on the next tick. */
	get dueSoon(): boolean {
		return this.#soon;
	}

	/** Settles with the next spawn: resolves once a child runs, rejects when none could be started. */
	get next(): Promise<void> {
		return this.#next.promise;
	}

	/** The first spawn: on the next tick, so that listeners attached right after supervise() see every event. */
	soon(): void {
		this.#soon = true;
		process.nextTick(() => {
			if (this.#soon) this.spawn();
		});
	}

	/** After a crash: `then` runs at the end of the backoff (it spawns the next child). */
	after(delay: number, then: () => void): void {
		// Not unref'd: in a parent that only supervises, this timer is what keeps supervision going.
		this.#backoffTimer = setTimeout(() => {
			this.#backoffTimer = undefined;
			then();
		}, delay);
	}

	/** A first spawn or a backoff still to come is called off. */
	cancel(): void {
		clearTimeout(this.#backoffTimer);
		this.#backoffTimer = undefined;
		this.#soon = false;
	}

	/** Spawns the handle's next child now. */
	spawn(): void {
		this.#soon = false;
		const spawned = this.#next;
		const generation = ++this.#generation;
		const host = this.#host;
		const watch = new StartWatch(host.options);
		let child: ChildProcess;
		try {
			child = this.launch();
		} catch (error) {
			this.#failed(error, spawned);
			return;
		}
		const { pid } = child;
		if (pid === undefined) {
			// The reason (ENOENT, EACCES, a missing cwd) arrives as an 'error' event. Nothing runs meanwhile, so
			// a stop() in between simply ends the handle.
			child.once('error', (error) => {
				if (generation === this.#generation && host.starting()) this.#failed(error, spawned);
				else spawned.reject(error);
			});
			host.spawning();
			return;
		}
		log('%s: spawned %d', host.options.name, pid);
		this.#next = deferred();
		spawned.resolve();
		host.spawned(child, watch);
	}

	/** Spawns a child and, once it runs, watches it (its exit, its output, the parent watchdog); for reloads too. */
	launch(): ChildProcess {
		const host = this.#host;
		host.watchdog()?.ensure();
		const child = launch(host.command, host.args, host.options);
		const { pid } = child;
		if (pid !== undefined) wireChild(child, pid, host.options, host.watchdog, (code, signal) => host.exited(child, code, signal));
		return child;
	}

	#failed(cause: unknown, spawned: Deferred): void {
		const { name } = this.#host.options;
		const detail = cause instanceof Error ? cause.message : String(cause);
		const error = new SuperviseError(`Could not start \`${name}\` (${detail})`, { child: name, cause });
		this.#next = deferred();
		spawned.reject(error);
		this.#host.failed(error);
	}
}
