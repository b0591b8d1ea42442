/**
 * Work for the next idle moment that must not keep the process alive: an unref'd `setImmediate`. Deno runs an
 * unref'd immediate only alongside a ref'd one, so in a quiet service never (the watchdog thread would then be
 * made on the shutdown path, about 100-300 ms of it); there it is an unref'd 0 ms timer, which Deno does run.
 */
export function idleSoon(fn: () => void): void {
	if ((globalThis as { Deno?: unknown }).Deno !== undefined) setTimeout(fn, 0).unref?.();
	else setImmediate(fn).unref?.();
}
