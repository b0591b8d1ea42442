// A queue consumer: takes one job at a time from a queue and works on it. On SIGTERM (sent by main.js when
// the service shuts down) it stops taking jobs, finishes the job in hand and exits 0.
//
// The queue here is a stand-in (jobs appear every 100-300 ms) so that the example runs without a broker; with
// SQS, Redis or AMQP, `nextJob(signal)` is a receive/pop that takes the abort signal.
// CRASH_AFTER=<n> makes it crash (exit code 1) after n jobs, to show main.js restarting it; 0 turns that off.
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from 'graceful-proc';
import { exitWithParent } from 'graceful-proc/supervise';

const crashAfter = Number(process.env.CRASH_AFTER ?? 0);

// Even if main.js is SIGKILLed and its watchdog with it, this worker does not run on alone.
exitWithParent();

let nextId = 1;
/** Resolves to the next job, or to undefined when `signal` aborts first (nothing was taken off the queue). */
async function nextJob(signal) {
	try {
		await sleep(100 + Math.random() * 200, undefined, { signal });
	} catch {
		return undefined;
	}
	return { id: nextId++, work: 200 + Math.random() * 400 };
}

await run(async ({ signal }) => {
	console.log(`consuming (pid ${process.pid})`);
	let done = 0;
	while (!signal.aborted) {
		const job = await nextJob(signal);
		if (job === undefined) break;
		// A job in hand is finished even when shutdown starts meanwhile: that is the point of stopping gracefully.
		await sleep(job.work);
		done += 1;
		console.log(`done job ${job.id}${signal.aborted ? ' (after the stop signal)' : ''}`);
		// Only while consuming: a worker asked to stop that finishes its last job stops cleanly, as below.
		if (crashAfter > 0 && done >= crashAfter && !signal.aborted) {
			console.error(`crashing after ${done} jobs (CRASH_AFTER=${crashAfter})`);
			process.exit(1);
		}
	}
	console.log(`stopped taking jobs after ${done}; nothing left in hand`);
});
