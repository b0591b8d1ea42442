import type * as WorkerThreads from 'node:worker_threads';

/** Where the main thread leaves the function the watchdog calls when the deadline passes. */
export const WATCHDOG_HOOK = Symbol.for('graceful-proc.watchdog');

/**
 * The worker's code. A timer on the main thread cannot fire while a listener blocks the event loop, so the
 * deadline is kept by a thread that outlives it. At the deadline it asks the main thread, through the
 * inspector (whose messages are served by V8 interrupts, even inside `while (true) {}`), to run the hook
 * that writes the report and exits with code 1. If even that gets no answer, the process is SIGKILLed.
 */
const source = `
const { workerData } = require('node:worker_threads');
const { fireAt, killAt, pid, hook } = workerData;
// Absolute times: the worker may take a while to boot on a loaded machine, and the deadline must not move.
setTimeout(() => {
	setTimeout(() => { try { process.kill(pid, 'SIGKILL'); } catch {} }, Math.max(0, killAt - Date.now()));
	try {
		const inspector = require('node:inspector');
		const session = new inspector.Session();
		session.connectToMainThread();
		session.post('Runtime.evaluate', { expression: 'globalThis[Symbol.for(' + JSON.stringify(hook) + ')]?.()' });
	} catch {
		try { process.kill(pid, 'SIGKILL'); } catch {}
	}
}, Math.max(0, fireAt - Date.now()));
`;

export interface Watchdog {
	cancel(): void;
}

/**
 * Start the watchdog for a deadline (epoch ms). Its cost (one small thread) is paid only once a shutdown has
 * started. `grace` is how long past the deadline the main thread's own timer gets first; `killAfter` how long
 * the inspector route gets before SIGKILL.
 */
export function startWatchdog(
	pid: number,
	deadline: number,
	onError: (error: unknown) => void,
	{ grace = 150, killAfter = 600 } = {},
): Watchdog {
	// Loaded here, not at import: worker_threads is not among the modules Node has ready at startup.
	const threads = process.getBuiltinModule('node:worker_threads') as typeof WorkerThreads;
	const worker = new threads.Worker(source, {
		eval: true,
		workerData: { fireAt: deadline + grace, killAt: deadline + grace + killAfter, pid, hook: 'graceful-proc.watchdog' },
		// As little as a thread can take: no copy of the environment, none of the parent's flags (an --inspect
		// or --cpu-prof meant for the application), no stdio of its own.
		env: threads.SHARE_ENV,
		execArgv: [],
		stdin: false,
		stdout: true,
		stderr: true,
		trackUnmanagedFds: false,
		resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
	});
	worker.unref();
	// Without the watchdog the deadline still holds for everything but a blocked event loop: say so, once.
	worker.on('error', onError);
	return {
		cancel() {
			worker.off('error', onError);
			void worker.terminate().catch(() => {});
		},
	};
}
