/**
 * When a new child counts as started: once it has stayed up for `startSecs`. Until then its exit is a failed
 * start (for a reload's replacement, a failed reload, and the old child keeps running).
 */

export class StartWatch {
	readonly #startMs: number;
	/** performance.now() at the spawn. */
	readonly spawnedAt = performance.now();
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(startMs: number) {
		this.#startMs = startMs;
	}

	/** Calls `onStarted` once the child counts as started, unless cancel() comes first. */
	arm(onStarted: () => void): void {
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			onStarted();
		}, this.#startMs);
		// The child's own handle keeps the parent alive; this timer only reports on it.
		this.#timer.unref?.();
	}

	/** Whether the child has been up long enough to count as started, even if the timer has not fired yet. */
	reached(): boolean {
		return performance.now() - this.spawnedAt >= this.#startMs;
	}

	cancel(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}
}
