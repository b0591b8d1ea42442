/**
 * One stop of the handle's child under way (`stop()`, `restart()`, the shutdown phase): the stop signal goes
 * out once; SIGKILL follows at the earliest kill time anyone asked for, or at once when the proc gives up.
 * What follows the exit is decided by the last caller: the end, or a new child.
 */
import type { ChildProcess } from 'node:child_process';
import { createDebug } from '../debug.js';
import { type Deferred, deferred } from './deferred.js';
import { signalChild } from './launch.js';
import type { ResolvedOptions } from './options.js';
import type { ParentWatchdog } from './parent-watchdog.js';

const log = createDebug('supervise');

export class StopRequest {
	/** Settles once the child has exited (and the children stopped on the side too). */
	readonly exited: Deferred = deferred();
	/** Settles once the new child is spawned, or rejects when none will be. */
	readonly restarted: Deferred = deferred();
	/** What follows the exit: the end (`stop()`, shutdown) or a new child (`restart()`). The last call wins. */
	then: 'exit' | 'restart';
	/** Undefined when the child had exited already (its 'exit' listeners were running). */
	readonly #child: ChildProcess | undefined;
	readonly #o: ResolvedOptions;
	readonly #watchdog: () => ParentWatchdog | undefined;
	#killAt = Number.POSITIVE_INFINITY;
	#killTimer: ReturnType<typeof setTimeout> | undefined;
	readonly #aborts: Array<[AbortSignal, () => void]> = [];

	constructor(then: 'exit' | 'restart', child: ChildProcess | undefined, o: ResolvedOptions, watchdog: () => ParentWatchdog | undefined) {
		this.then = then;
		this.#child = child;
		this.#o = o;
		this.#watchdog = watchdog;
	}

	/** Sends `stopSignal` and sets SIGKILL at `stopTimeout`; false when there is no child to stop. */
	begin(): boolean {
		if (this.#child === undefined) return false;
		log('%s: stopping with %s', this.#o.name, this.#o.stopSignal);
		signalChild(this.#child, this.#o.stopSignal, this.#o);
		this.killBy(Date.now() + this.#o.stopTimeout);
		return true;
	}

	/** SIGKILL at `killAt` (epoch ms), unless an earlier time was asked for already. */
	killBy(killAt: number): void {
		const pid = this.#child?.pid;
		if (pid === undefined || killAt >= this.#killAt) return;
		this.#killAt = killAt;
		clearTimeout(this.#killTimer);
		this.#watchdog()?.stopping(pid, killAt);
		// Not unref'd: until the child is gone, this is what ends it.
		this.#killTimer = setTimeout(() => {
			log('%s: still running after the stop timeout; SIGKILL', this.#o.name);
			this.#kill();
		}, Math.max(0, killAt - Date.now()));
	}

	/** SIGKILL as soon as `signal` aborts: the proc gave up waiting (force-quit), and the child goes before the parent. */
	killOnAbort(signal: AbortSignal): void {
		const onAbort = (): void => this.#kill();
		if (signal.aborted) {
			onAbort();
			return;
		}
		signal.addEventListener('abort', onAbort, { once: true });
		this.#aborts.push([signal, onAbort]);
	}

	/** The child has exited: nothing more is sent to it. */
	dispose(): void {
		clearTimeout(this.#killTimer);
		for (const [signal, onAbort] of this.#aborts) signal.removeEventListener('abort', onAbort);
		this.#aborts.length = 0;
	}

	#kill(): void {
		if (this.#child !== undefined) signalChild(this.#child, 'SIGKILL', this.#o);
	}
}
