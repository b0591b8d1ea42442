// What graceful-proc tells systemd on its own: READY=1 when the service says it serves (serve() does), WATCHDOG=1
// while the service is live, and from the trigger on what stop-status.ts says (STOPPING=1, STATUS=,
// EXTEND_TIMEOUT_USEC=). Every call is a no-op unless systemd started the process with NOTIFY_SOCKET (Type=notify).
import { processEnv } from '../env.js';
import { fakeBindingOf } from '../testing-protocol.js';
import type { Proc } from '../types.js';
import { notifySocket, sdNotify, sdNotifyUnordered } from './notify.js';
import { StopStatus } from './stop-status.js';

const watched = new WeakSet<Proc>();
let pinging: ReturnType<typeof setInterval> | undefined;
let liveness: (() => boolean) | undefined;

/** The watchdog interval systemd asked for (WATCHDOG_USEC, for this process: WATCHDOG_PID), in ms. */
export function watchdogInterval(env: Readonly<NodeJS.ProcessEnv> = processEnv(), pid = process.pid): number | undefined {
	const usec = Number(env.WATCHDOG_USEC);
	if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
	if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== pid) return undefined;
	return Math.max(1, Math.floor(usec / 1000));
}

/**
 * How the pings judge that the service is alive: the health ticker's liveness when there is one. Without it the
 * pings still stop when the event loop stalls, since their timer no longer fires.
 */
export function setSystemdLiveness(isLive: (() => boolean) | undefined): void {
	liveness = isLive;
}

function startPings(): void {
	const interval = watchdogInterval();
	if (interval === undefined || pinging !== undefined) return;
	// Half the interval, as sd_watchdog_enabled(3) advises: one late ping is not yet a restart. Pings go beside the
	// queue of READY=1 and STOPPING=1 (their order does not matter), and a ping still on its way makes the next one
	// pointless (systemd only counts the latest): on a loaded machine systemd-notify can take longer than the interval.
	let pending = false;
	pinging = setInterval(() => {
		if (pending || (liveness !== undefined && !liveness())) return;
		pending = true;
		void sdNotifyUnordered({ WATCHDOG: 1 }).then(() => (pending = false));
	}, Math.max(1, Math.floor(interval / 2)));
	pinging.unref();
}

function stopPings(): void {
	clearInterval(pinging);
	pinging = undefined;
}

/** The shutdown as systemd sees it: STOPPING=1 at once, then STATUS= per phase and more time while it progresses. */
function watchShutdown(proc: Proc): void {
	if (watched.has(proc)) return;
	watched.add(proc);
	const onAbort = () => {
		new StopStatus(proc).start();
		stopPings();
	};
	if (proc.signal.aborted) onAbort();
	else proc.signal.addEventListener('abort', onAbort, { once: true });
}

/**
 * Tell systemd the service is ready (READY=1 and a STATUS line), start the watchdog pings systemd asked for, and
 * tell it when `proc` starts shutting down. serve() calls it once it listens; a worker calls it when it is ready.
 * Without NOTIFY_SOCKET it does nothing.
 */
export function notifyReady(proc: Proc, status = 'ready'): Promise<void> {
	// A test's fake process is no service of systemd's, even when the test runner is one.
	if (notifySocket() === undefined || fakeBindingOf(proc) !== undefined || proc.signal.aborted) return Promise.resolve();
	watchShutdown(proc);
	startPings();
	return sdNotify({ READY: 1, STATUS: status });
}
