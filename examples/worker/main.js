#!/usr/bin/env node
// A service whose work is done by a supervised worker process (worker.js, a queue consumer).
//
//   npm run build
//   node examples/worker/main.js                 # Ctrl+C, or `kill -TERM <pid>`, to stop
//   CRASH_AFTER=0 node examples/worker/main.js   # a worker that never crashes
//
// What it shows:
// - the worker is restarted when it crashes (here after CRASH_AFTER jobs, 5 by default), after a backoff
//   that grows while it keeps crashing early and starts over once it has been up for startSecs;
// - on SIGTERM / Ctrl+C the service stops the worker gracefully: SIGTERM, the worker finishes the job in
//   hand, and only if it takes longer than stopTimeout, SIGKILL; then the service exits 0;
// - if the worker keeps failing (maxRestarts), the service gives up and exits 1, so that the orchestrator
//   (Kubernetes, systemd) restarts the whole thing and shows it;
// - if this process is SIGKILLed, the watchdog stops the worker, and the worker's exitWithParent() would too.
import { fileURLToPath } from 'node:url';
import { run, setTimeToForceQuit } from 'graceful-proc';
import { supervise } from 'graceful-proc/supervise';

// Room for the worker's stopTimeout inside the force-quit deadline (Kubernetes: terminationGracePeriodSeconds 15).
setTimeToForceQuit(12_000);

await run(async ({ signal }) => {
	const worker = supervise(process.execPath, [fileURLToPath(new URL('worker.js', import.meta.url))], {
		name: 'worker',
		stdio: 'pipe',
		killGroup: true,
		startSecs: 1,
		maxRestarts: 5,
		backoff: { initial: 500, max: 10_000 },
		stopTimeout: 10_000,
		env: { ...process.env, CRASH_AFTER: process.env.CRASH_AFTER ?? '5' },
	});
	worker.on('state', (state, previous) => {
		const pid = worker.pid === undefined ? '' : ` (pid ${worker.pid})`;
		console.log(`[main] worker ${previous} -> ${state}${pid}`);
	});
	worker.on('exit', (code, how) => console.log(`[main] worker exited with ${how ?? `code ${code}`}; restarts so far: ${worker.restarts}`));
	console.log(`[main] pid ${process.pid}; stop with Ctrl+C or kill -TERM ${process.pid}`);

	// Until shutdown starts, or the worker is given up on. Stopping the worker is supervise's own shutdown
	// listener's job, so returning here is all it takes.
	await new Promise((resolve, reject) => {
		worker.on('error', reject);
		signal.addEventListener('abort', resolve, { once: true });
	});
});
