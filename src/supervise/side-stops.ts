/**
 * The children a supervisor stops on the side while another one is its child (a reload's old child, a
 * cancelled replacement): each stopped once, killed at its kill time, and waited for until it has exited.
 */
import type { ChildProcess } from 'node:child_process';

interface Stopping {
	readonly exited: Promise<void>;
	readonly resolve: () => void;
	killAt: number;
	killTimer: ReturnType<typeof setTimeout> | undefined;
}

export interface SideStopsOptions {
	/** Sends a signal to the child (or its process group). */
	signal(child: ChildProcess, signal: NodeJS.Signals): void;
	/** Told each time a child's SIGKILL time is set or brought forward (the parent watchdog). */
	onKillAt(child: ChildProcess, killAt: number): void;
}

/**
 * The children a supervisor stops on the side, while another one is its child: the old child after a
 * reload, a replacement whose reload was cancelled. Each gets the stop signal once and SIGKILL at its kill
 * time, which a shutdown deadline can only bring forward; each is waited for until it has exited.
 */
export class SideStops {
	readonly #options: SideStopsOptions;
	readonly #stopping = new Map<ChildProcess, Stopping>();

	constructor(options: SideStopsOptions) {
		this.#options = options;
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
			this.#options.signal(child, stopSignal);
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
		for (const child of this.#stopping.keys()) this.#options.signal(child, 'SIGKILL');
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
		this.#options.onKillAt(child, killAt);
		// Not unref'd: until the child is gone, this is what ends it.
		stopping.killTimer = setTimeout(() => this.#options.signal(child, 'SIGKILL'), Math.max(0, killAt - Date.now()));
	}
}
