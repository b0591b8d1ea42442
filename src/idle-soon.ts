/**
 * Work for the next idle moment that must not keep the process alive: an unref'd `setImmediate`, or under Deno,
 * which runs an unref'd immediate only beside a ref'd one (in a quiet service never), an unref'd 0 ms timer.
 */
export function idleSoon(fn: () => void): void {
	// Under Deno an immediate would leave the watchdog thread to be made at the signal: 100-300 ms of the shutdown.
	if ((globalThis as { Deno?: unknown }).Deno !== undefined) setTimeout(fn, 0).unref?.();
	else setImmediate(fn).unref?.();
}
