// The AbortController a connection's requests share for drainSignal(): Node makes an AbortSignal slowly (a few µs,
// as much as a hello-world request costs), so one is made per connection and made again only when needed.
import { getEventListeners } from 'node:events';

/**
 * `previous` again when nothing can tell it was handed out before (not aborted, no 'abort' listener left by an
 * earlier request), otherwise a new controller. Listeners an earlier request left on a shared signal would pile
 * up on a keep-alive connection for its lifetime; dropping that signal lets them go with it.
 */
export function reusableController(previous: AbortController | undefined): AbortController {
	if (previous !== undefined) {
		const { signal } = previous;
		if (!signal.aborted && getEventListeners(signal, 'abort').length === 0) return previous;
	}
	return new AbortController();
}

/**
 * Where drainSignal() keeps the signal it gave a request, on the request itself, so that asking again gives the
 * same one and nothing outlives the request. Shared by every copy of the package (Symbol.for).
 */
export const GIVEN_SIGNAL = Symbol.for('graceful-proc.drainSignal');
