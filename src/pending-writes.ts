/**
 * Whether a write of this process may still be on its way to the operating system, asked without making
 * `process.stdout` or `process.stderr`: the way out waits for output only when there is some.
 */
import type { ProcessLike } from './types.js';

/**
 * Whether any write of this process may still be waiting to reach the operating system, asked without touching
 * `process.stdout` or `process.stderr`: Node makes those streams on first access, which costs about a millisecond
 * (a pipe's stream loads modules of its own) in a process that never wrote to one.
 *
 * A write that libuv could not finish at once is an active request (`WriteWrap`, `SimpleWriteWrap`) until it
 * completes, and a stream queues later writes only behind such a request. So no such request anywhere means
 * nothing is queued on stdout or stderr either. `undefined`: this process cannot tell (a process-like object
 * given by a test, Bun, a runtime without `getActiveResourcesInfo`); the caller then looks at the streams.
 */
export function writesPending(p: ProcessLike): boolean | undefined {
	if (p !== globalThis.process || typeof p.getActiveResourcesInfo !== 'function' || globalThis.process.versions?.bun !== undefined) {
		return undefined;
	}
	try {
		for (const name of p.getActiveResourcesInfo()) if (name.endsWith('WriteWrap')) return true;
		return false;
	} catch {
		return undefined;
	}
}
