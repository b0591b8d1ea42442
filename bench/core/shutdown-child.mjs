// A service that registers its shutdown work with one library, prints `ready`, and waits for SIGTERM.
//   node shutdown-child.mjs <library> <mode>
// library: graceful-proc | graceful-proc:at-shutdown | graceful-proc:off | graceful-proc-one | graceful-proc-one:off | exit-hook | async-exit-hook | terminus | close-with-grace | hand-written | hand-written+worker | bare
// mode:
//   work   N wrap-up and N shutdown tasks of WORK_MS each (a timer), the shutdown ones after every wrap-up one
//   hang   one task that never settles; the library's deadline is DEADLINE_MS
//   block  one task that blocks the event loop for good; the library's deadline is DEADLINE_MS
//   block-early  a task that never settles, and the loop blocked for good BLOCK_AFTER_MS after `ready`, before the
//          signal comes (graceful-proc only)
// Every library's own option for "exit at the latest after" is set to DEADLINE_MS in hang/block and to a
// deadline far away in work mode, so that only the work decides when the process exits.
import http from 'node:http';

const [library, mode = 'work'] = process.argv.slice(2);
const N = Number(process.env.N ?? 1000);
const WORK_MS = Number(process.env.WORK_MS ?? 50);
const DEADLINE_MS = Number(process.env.DEADLINE_MS ?? 500);
const deadline = mode === 'work' ? 30_000 : DEADLINE_MS;

const task = () => new Promise((resolve) => setTimeout(resolve, WORK_MS));
const hang = () => new Promise(() => {});
const block = () => {
	for (;;) {}
};
const stuck = mode === 'block' ? block : hang;

/**
 * For libraries with one phase: the second half of the work waits for the first, as a user would write it
 * (each shutdown task awaits a promise that resolves when the last wrap-up task has finished).
 */
function phases() {
	let left = N;
	let release;
	const wrapUpDone = new Promise((resolve) => {
		release = resolve;
	});
	return {
		async wrapUp() {
			await task();
			if (--left === 0) release();
		},
		async shutdown() {
			await wrapUpDone;
			await task();
		},
	};
}

/** For libraries with a single callback: every task of a phase at once, then the next phase. */
async function allWork() {
	await Promise.all(Array.from({ length: N }, task));
	await Promise.all(Array.from({ length: N }, task));
}

// What a real service has: something that keeps the event loop alive until it is told to stop.
setInterval(() => {}, 1 << 30);

// `graceful-proc:<mode>`: the same with `configure({ watchdog: mode })` first. `graceful-proc-one`: the work given
// as terminus and close-with-grace are given it, one listener per phase that awaits all its tasks.
const [libraryName, watchdog] = library.split(':');
switch (libraryName) {
	case 'graceful-proc':
	case 'graceful-proc-one': {
		const { addShutdownListener, addWrapUpListener, configure, setTimeToForceQuit } = await import('graceful-proc');
		if (watchdog) configure({ watchdog });
		setTimeToForceQuit(deadline);
		if (mode === 'work' && libraryName === 'graceful-proc-one') {
			addWrapUpListener(() => Promise.all(Array.from({ length: N }, task)), { name: 'wrap-up tasks' });
			addShutdownListener(() => Promise.all(Array.from({ length: N }, task)), { name: 'shutdown tasks' });
		} else if (mode === 'work') {
			for (let i = 0; i < N; i++) addWrapUpListener(task);
			for (let i = 0; i < N; i++) addShutdownListener(task);
		} else {
			addWrapUpListener(stuck, { name: mode });
		}
		break;
	}
	case 'exit-hook': {
		const { asyncExitHook } = await import('exit-hook');
		if (mode === 'work') {
			const { wrapUp, shutdown } = phases();
			for (let i = 0; i < N; i++) asyncExitHook(wrapUp, { wait: deadline });
			for (let i = 0; i < N; i++) asyncExitHook(shutdown, { wait: deadline });
		} else {
			asyncExitHook(stuck, { wait: deadline });
		}
		break;
	}
	case 'async-exit-hook': {
		const { default: exitHook } = await import('async-exit-hook');
		exitHook.forceExitTimeout(deadline);
		if (mode === 'work') {
			const { wrapUp, shutdown } = phases();
			// Its hooks are callback-style: a hook that declares a parameter is async and calls it when done.
			for (let i = 0; i < N; i++) exitHook((done) => void wrapUp().then(done));
			for (let i = 0; i < N; i++) exitHook((done) => void shutdown().then(done));
		} else if (mode === 'hang') {
			exitHook((_done) => {});
		} else {
			exitHook((_done) => block());
		}
		break;
	}
	case 'close-with-grace': {
		const { default: closeWithGrace } = await import('close-with-grace');
		closeWithGrace({ delay: deadline, logger: false }, mode === 'work' ? allWork : stuck);
		break;
	}
	case 'terminus': {
		// terminus decorates an HTTP server and stops it before calling onSignal, so it needs a listening one.
		const { createTerminus } = await import('@godaddy/terminus');
		const server = http.createServer((_req, res) => res.end());
		await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
		createTerminus(server, {
			signals: ['SIGTERM'],
			useExit0: true,
			// `timeout` is only how long stoppable lets open connections finish; there are none here.
			timeout: deadline,
			onSignal: () => Promise.all(Array.from({ length: N }, task)),
			onShutdown: () => Promise.all(Array.from({ length: N }, task)),
		});
		break;
	}
	case 'hand-written+worker':
		// The same, beside one idle worker thread (the smallest Node makes): what any resident thread costs an exit.
		new (await import('node:worker_threads')).Worker('setInterval(() => {}, 1e9)', { eval: true }).unref();
	// falls through
	case 'hand-written':
		// What a service would write without a library: on SIGTERM, every wrap-up task, then every shutdown task,
		// then exit; and the same two-step deadline, so that a hung or blocked task cannot keep it alive (the
		// timer cannot fire while the loop is blocked: that is the case it cannot handle).
		process.on('SIGTERM', () => {
			setTimeout(() => process.exit(1), deadline);
			(mode === 'work' ? allWork() : Promise.resolve(stuck())).then(() => process.exit(0));
		});
		break;
	case 'bare':
		process.on('SIGTERM', () => process.exit());
		break;
	default:
		throw new Error(`unknown library ${library}`);
}
process.stdout.write('ready\n');
if (mode === 'block-early') setTimeout(block, Number(process.env.BLOCK_AFTER_MS ?? 125));
