/**
 * The children a supervisor stops on the side while another one is its child (a reload's old child, a
 * cancelled replacement): each stopped once, killed at its kill time, and waited for until it has exited.
 */
import type { ChildProcess } from 'node:child_process';
import { signalChild } from './launch.js';
import type { ResolvedOptions } from './options.js';
import type { ParentWatchdog } from './parent-watchdog.js';

interface Stopping {
	readonly exited: Promise<void>;
	readonly resolve: () => void;
	killAt: number;
	killTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The children a supervisor stops on the side, while another one is its child: the old child after a
 * reload, a replacement whose reload was cancelled. Each gets the stop signal once and SIGKILL at its kill
 * time, which a shutdown deadline can only bring forward; each is waited for until it has exited.
 */
export class SideStops {
	readonly #o: ResolvedOptions;
	/** The parent watchdog, if the handle has a share of it: told each time a child's SIGKILL time is set or brought forward. */
	readonly #watchdog: () => ParentWatchdog | undefined;
	readonly #stopping = new Map<ChildProcess, Stopping>();

	constructor(o: ResolvedOptions, watchdog: () => ParentWatchdog | undefined) {
		this.#o = o;
		this.#watchdog = watchdog;
	}

	get size(): number {
		return this.#stopping.size;
	}

	/** Sends `stopSignal` (the first time) and SIGKILL at `killAt`; resolves once `child` has exited (see `exited()`). */
	stop(child: ChildProcess, stopSignal: NodeJS.Signals, killAt: number): Promise<void> {
		let stopping = this.#stopping.get(child);
		if (stopping === undefined) {
			let resolve!: () => void;
			const exited = new Promise<void>((res) => {
				resolve = res;
			});
			stopping = { exited, resolve, killAt: Number.POSITIVE_INFINITY, killTimer: undefined };
			this.#stopping.set(child, stopping);
			signalChild(child, stopSignal, this.#o);
		}
		this.#hurry(child, stopping, killAt);
		return stopping.exited;
	}

	/** Brings every kill time forward to `killAt` at the latest (the proc's deadline). */
	hurry(killAt: number): void {
		for (const [child, stopping] of this.#stopping) this.#hurry(child, stopping, killAt);
	}

	/** SIGKILL now, to all: the proc gave up waiting. */
	killAll(): void {
		for (const child of this.#stopping.keys()) signalChild(child, 'SIGKILL', this.#o);
	}

	/** SIGKILL to all as soon as `signal` aborts (the proc's force-quit), if any child is being stopped here. */
	killAllOnAbort(signal: AbortSignal): void {
		if (this.#stopping.size === 0) return;
		if (signal.aborted) this.killAll();
		else signal.addEventListener('abort', () => this.killAll(), { once: true });
	}

	/** Whether `child` was being stopped here; if so, it is forgotten and whoever waited for it hears of its exit. */
	exited(child: ChildProcess): boolean {
		const stopping = this.#stopping.get(child);
		if (stopping === undefined) return false;
		this.#stopping.delete(child);
		clearTimeout(stopping.killTimer);
		stopping.resolve();
		return true;
	}

	/** Resolves once every child stopped here has exited. */
	all(): Promise<void> {
		if (this.#stopping.size === 0) return Promise.resolve();
		return Promise.all([...this.#stopping.values()].map((stopping) => stopping.exited)).then(() => undefined);
	}

	#hurry(child: ChildProcess, stopping: Stopping, killAt: number): void {
		if (killAt >= stopping.killAt) return;
		stopping.killAt = killAt;
		clearTimeout(stopping.killTimer);
		if (child.pid !== undefined) this.#watchdog()?.stopping(child.pid, killAt);
		// Not unref'd: until the child is gone, this is what ends it.
		stopping.killTimer = setTimeout(() => signalChild(child, 'SIGKILL', this.#o), Math.max(0, killAt - Date.now()));
	}
}
