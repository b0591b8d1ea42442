import type net from 'node:net';
import { proc as defaultProc } from '../index.js';
import type { ListenerContext, Proc, WaitFunction } from '../types.js';
import { Drainer } from './drainer.js';
import { type DrainOptions, type ResolvedDrainOptions, resolveDrainOptions } from './options.js';
import { addressLabel, assertListeningServer, serverKind } from './server-kind.js';
import { spreadReservation } from './spread-reservation.js';

let warned = false;

/**
 * The shutdown phase (closing pools) starts at `timeToWrapUp` even while a drain still serves: with a `delay`
 * at least that long, pools close under requests. Checked when shutdown starts, not in drain(): the time is
 * often set after drain() is called. Said once per process.
 */
function warnIfWrapUpEndsFirst(proc: Proc, delay: number, name: string): void {
	const timeToWrapUp = proc.timeToWrapUp;
	if (warned || delay === 0 || typeof timeToWrapUp !== 'number' || timeToWrapUp > delay) return;
	warned = true;
	process.emitWarning(
		`graceful-proc: \`${name}\` drains with a delay of ${delay} ms, but timeToWrapUp is ${timeToWrapUp} ms: the shutdown phase will start while the server still serves. Raise it with setTimeToWrapUp() above delay + the slowest request.`,
		{ code: 'GRACEFUL_PROC_WRAP_UP_BEFORE_DRAIN' },
	);
}

/** One drainer per server: two would both try to close it. */
const drainers = new WeakMap<net.Server, Drainer>();

/**
 * Drain `server` when the proc shuts down: keep serving for `delay`, stop accepting, let running requests
 * finish with `Connection: close` (HTTP/2: GOAWAY), close keep-alive connections once idle, and destroy what is
 * left at the deadline. Registers a wrap-up listener and returns its `wait`.
 *
 * @example
 * const server = app.listen(3000, () => drain(server, { delay: 5000 }))
 */
export function drain(server: net.Server, options?: DrainOptions): WaitFunction {
	assertListeningServer('server', server);
	const resolved = resolveDrainOptions(options);
	return registerDrain(server, resolved).wait;
}

/** drain() after validation, for serve() and white-box tests: also hands back the drainer. */
export function registerDrain(server: net.Server, options: ResolvedDrainOptions): { wait: WaitFunction; drainer: Drainer } {
	const existing = drainers.get(server);
	if (existing !== undefined && existing.phase !== 'done') {
		throw new TypeError(`Expected \`server\` to be drained once, got a server that drain() already drains (\`${existing.name}\`)`);
	}
	const proc = options.proc ?? defaultProc;
	const kind = serverKind(server);
	const name = options.name ?? `${kind} ${addressLabel(server)}`;
	const spreadTime = spreadReservation(proc, options, name);
	const drainer = new Drainer(server, {
		name,
		kind,
		delay: options.delay,
		idleGrace: options.idleGrace,
		timeout: options.timeout,
		spread: options.spread,
		onFirstSignal: spreadTime.reserve,
	});
	let inner: WaitFunction;
	try {
		inner = proc.addWrapUpListener(
			(context: ListenerContext) => {
				warnIfWrapUpEndsFirst(proc, options.delay, name);
				return drainer.run(context);
			},
			{ name },
		);
	} catch (error) {
		drainer.detach();
		spreadTime.release();
		throw error;
	}
	drainers.set(server, drainer);

	const forget = () => {
		drainer.detach();
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
