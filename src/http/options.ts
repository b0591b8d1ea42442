// drain()'s options: their documentation, their checks, and their defaults, resolved purely and before anything
// is registered, so that drain() and serve() work from one resolved set.
import type { Proc } from '../types.js';
import { assertDuration, assertOptions, assertProc, assertString, expected } from '../validate.js';
import { DEFAULT_SPREAD } from './spread.js';

export interface DrainOptions {
	/**
	 * Milliseconds to keep serving after shutdown starts, before the server stops accepting connections.
	 * Readiness is already reporting not-ready then (`proc.signal` has aborted), so this is the time the
	 * load balancer gets to take the instance out of rotation. The server serves as before meanwhile, keep-alive
	 * included; responses say `Connection: close` (HTTP/2: sessions get a GOAWAY) once it stops accepting.
	 * @default 0
	 * @example { delay: 5000 }
	 */
	delay?: number;
	/**
	 * Milliseconds a keep-alive connection may stay idle during the drain before it is closed, counted from the
	 * last request the server read on any connection: while a proxy still sends here, idle connections stay. A
	 * pooled client that reuses one meanwhile is served, with `Connection: close`. Closing idle connections at
	 * once is what resets clients that were just sending on them.
	 * @default 500
	 * @example { idleGrace: 1000 }
	 */
	idleGrace?: number;
	/**
	 * Milliseconds from the start of the shutdown after which whatever is left (requests still running,
	 * connections still open) is destroyed. Without it, the proc's force-quit deadline (`ctx.deadline`) is the
	 * limit; with it, the earlier of the two. Cutting a running request makes the listener fail (`DrainTimeoutError`).
	 * @default undefined (the force-quit deadline)
	 * @example { timeout: 8000 }
	 */
	timeout?: number;
	/**
	 * Milliseconds over which long-lived streams are told to end, after the `delay`: the signals of
	 * `drainSignal(req)` abort one connection at a time, evenly over this window, so that their clients do not
	 * all reconnect to the other instances at once. The drain still ends as soon as the last connection has
	 * closed; if the deadline comes first, the window shrinks to end 1 s before it. `0`: all at once.
	 * @default 10000 (with Kubernetes' 30 s grace period: 5 s delay + 10 s spread leaves room for the rest)
	 * @example { delay: 5000, spread: 15000 }
	 */
	spread?: number;
	/**
	 * The listener's name in the shutdown report.
	 * @default the protocol and where a client on this machine reaches the server, as in serve()'s `url`:
	 * `'http 127.0.0.1:3000'`; a server on every interface (`::`) is `'http localhost:3000'`
	 */
	name?: string;
	/**
	 * The proc whose shutdown drains the server.
	 * @default the process-wide `proc` of `graceful-proc`
	 */
	proc?: Proc;
	/**
	 * Under a development watcher that restarts the app on every save (nodemon, `node --watch`), and in a test under
	 * `useFakeProcess()` of `graceful-proc/testing`: the `delay` and `idleGrace` to use there instead of the ones
	 * above, which are meant for a load balancer there is none of. Each one left out is 0; requests in flight are
	 * still answered. `false`: the ones above, there too.
	 * @default { delay: 0, idleGrace: 0 } (under nodemon, `node --watch` and `useFakeProcess()`; elsewhere this option changes nothing)
	 * @example { delay: 5000, devWatch: { delay: 500 } }
	 */
	devWatch?: false | DevWatchTimes;
}

/** The waits of a drain under a development watcher (see `DrainOptions.devWatch`). */
export interface DevWatchTimes {
	/** @default 0 */
	delay?: number;
	/** @default 0 */
	idleGrace?: number;
}

/** Validated drain options with their defaults applied (`proc` and `name` are resolved later). */
export interface ResolvedDrainOptions {
	delay: number;
	idleGrace: number;
	timeout: number | undefined;
	/** The spread in force, and whether the user set it (then its time is reserved at once, see drain()). */
	spread: number;
	spreadSet: boolean;
	name: string | undefined;
	proc: Proc | undefined;
	/** The waits under a development watcher; false: the ones above there too. */
	devWatch: false | { delay: number; idleGrace: number };
}

export const DRAIN_OPTION_KEYS = ['delay', 'idleGrace', 'timeout', 'spread', 'name', 'proc', 'devWatch'] as const;

export const DEFAULT_IDLE_GRACE = 500;

/** Checks every drain option before anything is registered; `prefix` names the argument in messages. */
export function resolveDrainOptions(
	options: unknown,
	{ prefix = 'options', known = DRAIN_OPTION_KEYS as readonly string[] } = {},
): ResolvedDrainOptions {
	assertOptions(prefix, options, known);
	const o = (options ?? {}) as DrainOptions;
	// Only `undefined` means "the default": a null is a mistake worth hearing about.
	const delay = o.delay === undefined ? 0 : o.delay;
	assertDuration(`${prefix}.delay`, delay);
	const idleGrace = o.idleGrace === undefined ? DEFAULT_IDLE_GRACE : o.idleGrace;
	assertDuration(`${prefix}.idleGrace`, idleGrace);
	if (o.timeout !== undefined) assertDuration(`${prefix}.timeout`, o.timeout);
	const spread = o.spread === undefined ? DEFAULT_SPREAD : o.spread;
	assertDuration(`${prefix}.spread`, spread);
	if (o.name !== undefined) assertString(`${prefix}.name`, o.name);
	if (o.proc !== undefined) assertProc(`${prefix}.proc`, o.proc);
	const devWatch = resolveDevWatch(`${prefix}.devWatch`, o.devWatch);
	return { delay, idleGrace, timeout: o.timeout, spread, spreadSet: o.spread !== undefined, name: o.name, proc: o.proc, devWatch };
}

function resolveDevWatch(argument: string, value: unknown): ResolvedDrainOptions['devWatch'] {
	if (value === false) return false;
	if (value === undefined) return { delay: 0, idleGrace: 0 };
	if (value === null || typeof value !== 'object' || Array.isArray(value)) {
		throw new TypeError(expected(argument, 'false or an object with `delay` and `idleGrace`', value));
	}
	assertOptions(argument, value, ['delay', 'idleGrace']);
	const { delay = 0, idleGrace = 0 } = value as DevWatchTimes;
	assertDuration(`${argument}.delay`, delay);
	assertDuration(`${argument}.idleGrace`, idleGrace);
	return { delay, idleGrace };
}

/**
 * The drain's waits in force: under a development watcher (`watcher`, see dev-watcher.ts) or a test's fake process
 * (`'useFakeProcess()'`), those of `devWatch`, with why, for the debug log; elsewhere, or with `devWatch: false`,
 * the options as they are. Pure.
 */
export function drainWaits(
	options: Pick<ResolvedDrainOptions, 'delay' | 'idleGrace' | 'devWatch'>,
	watcher: string | undefined,
): { delay: number; idleGrace: number; why?: string } {
	if (watcher === undefined || options.devWatch === false) return { delay: options.delay, idleGrace: options.idleGrace };
	const { delay, idleGrace } = options.devWatch;
	const changed = delay !== options.delay || idleGrace !== options.idleGrace;
	return {
		delay,
		idleGrace,
		why:
			`under ${watcher}: delay ${delay} ms, idleGrace ${idleGrace} ms` +
			(changed ? ` (instead of ${options.delay} and ${options.idleGrace}): ${watcher === 'useFakeProcess()' ? 'a test' : 'a restart on save'} has no load balancer to wait for; devWatch sets them` : ''),
	};
}

