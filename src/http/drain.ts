// drain(server): registers one server's drain as a wrap-up listener of the proc (now, or when the server starts
// listening), reserves the time it needs, and keeps one drain per server. Public, from `graceful-proc/http`.
import type net from 'node:net';
import { createDebug } from '../debug.js';
import { devWatcher } from '../dev-watcher.js';
import { proc as defaultProc } from '../index.js';
import { fakeBindingOf, procInForce } from '../testing-protocol.js';
import { RESERVE_TIME } from '../time-budget.js';
import type { ListenerContext, Proc, WaitFunction } from '../types.js';
import { MAX_TIMER_MS } from '../validate.js';
import { Drainer } from './drainer.js';
import { watchHandMadeFetchServer } from './fetch-style.js';
import { type DrainOptions, drainWaits, type ResolvedDrainOptions, resolveDrainOptions } from './options.js';
import { assertServer, serverKind, serverName } from './server-kind.js';
import { spreadReservation } from './spread-reservation.js';
import { stopListening } from './stop-listening.js';

/**
 * What a drain reserves for the requests still running when the server stops accepting, on top of `delay` and
 * `idleGrace`: the time a request that arrives at the end of the delay may take. The unset times of the proc
 * follow from it (see TimeBudget), so that with every time at its default a request of up to this long is never
 * cut, and the pools close only after it. The phase ends as soon as the drain does: the time costs nothing
 * unless a request needs it. `timeout`, when set, is the drain's own limit and is reserved instead.
 */
export const REQUEST_ALLOWANCE = 2000;

const log = createDebug('http');

/** The wrap-up time drain() reserves on the proc (see REQUEST_ALLOWANCE). */
export function drainTime(options: { delay: number; idleGrace: number; timeout: number | undefined }): number {
	return Math.min(MAX_TIMER_MS, options.timeout ?? options.delay + options.idleGrace + REQUEST_ALLOWANCE);
}

type Reserve = (phase: 'wrap-up', ms: number, who: string) => () => void;

/**
 * What stands in for a load balancer's absence on the process-wide proc: a development watcher of this process, or
 * a test's fake process (unless the test keeps the production waits). A proc of its own drains as configured.
 */
function processWideWatcher(): string | undefined {
	const binding = fakeBindingOf(defaultProc);
	if (binding === undefined) return devWatcher();
	return binding.drainWaits === 'devWatch' ? 'useFakeProcess()' : undefined;
}

/** One drainer per server: two would both try to close it. */
const drainers = new WeakMap<net.Server, Drainer>();
/** Servers drain() was given before they listened, by the name they will have, until they do. */
const waiting = new WeakMap<net.Server, string | undefined>();

/**
 * Drain `server` when the proc shuts down: keep serving for `delay`, stop accepting, let running requests
 * finish with `Connection: close` (HTTP/2: GOAWAY), close keep-alive connections once idle, and destroy what is
 * left at the deadline. Registers a wrap-up listener and returns its `wait`. The server may not listen yet: the
 * drain is then registered when it does (see drainWhenListening).
 *
 * @example
 * drain(app.listen(3000, '0.0.0.0'), { delay: 5000 })
 */
export function drain(server: net.Server, options?: DrainOptions): WaitFunction {
	assertServer('server', server);
	const resolved = resolveDrainOptions(options);
	assertNotDrained(server);
	// Before the drain adds its own request listener: `http.createServer(app.fetch)` is then the only one.
	const unwatch = watchHandMadeFetchServer(server);
	try {
		return server.listening ? registerDrain(server, resolved).wait : drainWhenListening(server, resolved);
	} catch (error) {
		unwatch();
		throw error;
	}
}

function assertNotDrained(server: net.Server): void {
	const existing = drainers.get(server);
	const name = existing !== undefined && existing.phase !== 'done' ? existing.name : waiting.has(server) ? (waiting.get(server) ?? 'not listening yet') : undefined;
	if (name !== undefined) {
		throw new TypeError(`Expected \`server\` to be drained once, got a server that drain() already drains (\`${name}\`)`);
	}
}

/**
 * `drain(app.listen(port, host))`: listen() with a host binds after a lookup, on a later tick. The drain is
 * registered when the server listens, under the name of its address; no connection can come before that. If
 * the shutdown starts first, there is nothing to drain: `wait()` resolves at once, and a server that starts
 * listening after that is closed right away, so it serves nothing while the process stops.
 */
function drainWhenListening(server: net.Server, options: ResolvedDrainOptions): WaitFunction {
	const proc = procInForce(options.proc ?? defaultProc);
	waiting.set(server, options.name);
	let registered: WaitFunction | undefined;
	let removed = false;
	const waiters: Array<() => void> = [];
	const settle = () => {
		for (const waiter of waiters.splice(0)) waiter();
	};
	const onAbort = () => settle();
	const onListening = () => {
		proc.signal.removeEventListener('abort', onAbort);
		waiting.delete(server);
		if (proc.signal.aborted) {
			stopListening(server);
		} else {
			registered = registerDrain(server, options).wait;
		}
		settle();
	};
	server.once('listening', onListening);
	proc.signal.addEventListener('abort', onAbort, { once: true });

	const wait = (() => {
		if (registered !== undefined) return registered();
		if (removed || proc.signal.aborted) return Promise.resolve();
		return new Promise<void>((resolve, reject) => {
			waiters.push(() => (registered === undefined ? resolve() : registered().then(resolve, reject)));
		});
	}) as WaitFunction;
	Object.defineProperty(wait, 'listenerName', {
		get: () => registered?.listenerName ?? options.name ?? `${serverKind(server)} (not listening yet)`,
		enumerable: true,
	});
	wait.remove = () => {
		if (registered !== undefined) return registered.remove();
		if (removed || proc.signal.aborted) return false;
		removed = true;
		server.removeListener('listening', onListening);
		proc.signal.removeEventListener('abort', onAbort);
		waiting.delete(server);
		settle();
		return true;
	};
	return wait;
}

/** drain() after validation, for serve() and white-box tests: also hands back the drainer. */
export function registerDrain(server: net.Server, options: ResolvedDrainOptions): { wait: WaitFunction; drainer: Drainer } {
	assertNotDrained(server);
	const given = options.proc ?? defaultProc;
	const proc = procInForce(given);
	const kind = serverKind(server);
	const name = options.name ?? serverName(kind, server);
	const waits = drainWaits(options, given === defaultProc ? processWideWatcher() : undefined);
	if (waits.why !== undefined) log('%s: %s', name, waits.why);
	const spreadTime = spreadReservation(proc, { ...options, delay: waits.delay }, name);
	const drainer = new Drainer(server, {
		name,
		kind,
		delay: waits.delay,
		idleGrace: waits.idleGrace,
		timeout: options.timeout,
		spread: options.spread,
		onFirstSignal: spreadTime.reserve,
	});
	let inner: WaitFunction;
	try {
		inner = proc.addWrapUpListener(
			(context: ListenerContext) => drainer.run(context),
			{ name },
		);
	} catch (error) {
		drainer.detach();
		spreadTime.release();
		throw error;
	}
	drainers.set(server, drainer);
	// The unset times of the proc follow from this, so that a default never cuts the drain. A proc from another
	// copy of the package may not have the method yet.
	const reserve = (proc as unknown as Record<symbol, Reserve | undefined>)[RESERVE_TIME];
	const releaseTime = typeof reserve === 'function' ? reserve.call(proc, 'wrap-up', drainTime({ ...options, ...waits }), name) : undefined;

	const forget = () => {
		drainer.detach();
		releaseTime?.();
		spreadTime.release();
		if (drainers.get(server) === drainer) drainers.delete(server);
	};
	// A server closed before shutdown has nothing left to drain; keeping the listener would keep it alive.
	const onClose = () => {
		if (drainer.phase === 'watching' && inner.remove()) forget();
	};
	server.once('close', onClose);

	const wait = (() => inner()) as WaitFunction;
	Object.defineProperty(wait, 'listenerName', { value: inner.listenerName, enumerable: true });
	wait.remove = () => {
		const removed = inner.remove();
		if (removed) {
			server.removeListener('close', onClose);
			forget();
		}
		return removed;
	};
	return { wait, drainer };
}
