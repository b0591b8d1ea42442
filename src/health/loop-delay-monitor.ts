/**
 * Watches for event loop stalls by timer drift: an unref'd interval that notes how late each tick fires.
 * (perf_hooks' monitorEventLoopDelay loses the sample that spans a reset, and fake timers cannot drive it.)
 */
export interface LoopDelayMonitor {
	/** Whether no stall beyond the threshold was seen in the last recovery window. */
	readonly live: boolean;
	/** The worst stall (ms) that made `live` false, while it is false. */
	readonly lastStallMs: number;
	stop(): void;
}

export function startLoopDelayMonitor(threshold: number, recoveryMs: number, onChange: () => void): LoopDelayMonitor {
	// Each tick wakes the process (about 1 ms of CPU per second at 10 ticks a second on a small VM), so tick
	// at a quarter of the threshold, at most twice a second: a stall is seen at up to `period` less than it lasted.
	const period = Math.max(10, Math.min(500, threshold / 4));
	let live = true;
	let lastStallMs = 0;
	let lastStallAt = 0;
	let last = performance.now();
	const timer = setInterval(() => {
		const now = performance.now();
		const delay = now - last - period;
		last = now;
		if (delay > threshold) {
			lastStallAt = now;
			lastStallMs = Math.max(live ? 0 : lastStallMs, Math.round(delay));
			if (live) {
				live = false;
				onChange();
			}
		} else if (!live && now - lastStallAt >= recoveryMs) {
			live = true;
			lastStallMs = 0;
			onChange();
		}
	}, period);
	timer.unref?.();
	return {
		get live() {
			return live;
		},
		get lastStallMs() {
			return lastStallMs;
		},
		stop() {
			clearInterval(timer);
		},
	};
}
