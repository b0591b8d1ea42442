// A service whose stop never finishes, so that only a second signal ends it before its deadline (10 s).
//   node second-signal-child.mjs <library>
// library: graceful-proc | graceful-proc-no-watchdog | close-with-grace | bare
// graceful-proc-no-watchdog: `exit: false` (so no watchdog thread) and an onReport that exits: the thread's share.
// bare: `process.on('SIGINT')` that exits at once on the second: the cost of delivering a signal and exiting.
// Prints `ready` once it is set up and idle, and `stopping` when the first signal has been handled.
const [library] = process.argv.slice(2);
const DEADLINE_MS = 10_000;
const hang = () => {
	process.stdout.write('stopping\n');
	return new Promise(() => {});
};
// Something that keeps a real service alive.
setInterval(() => {}, 60_000);

switch (library) {
	case 'graceful-proc':
	case 'graceful-proc-no-watchdog': {
		const { addWrapUpListener, configure, setTimeToForceQuit } = await import('graceful-proc');
		setTimeToForceQuit(DEADLINE_MS);
		if (library === 'graceful-proc-no-watchdog') configure({ exit: false, onReport: (report) => process.exit(report.exitCode) });
		addWrapUpListener(hang, { name: 'stuck' });
		// Idle, as a service is long after it started: its watchdog thread has booted (made in the first idle moment).
		await new Promise((resolve) => setImmediate(resolve));
		const hook = Object.getOwnPropertySymbols(globalThis).find((symbol) => symbol.description?.startsWith('graceful-proc.watchdog#'));
		await globalThis[hook]?.watching;
		break;
	}
	case 'close-with-grace': {
		const { default: closeWithGrace } = await import('close-with-grace');
		closeWithGrace({ delay: DEADLINE_MS, logger: false }, hang);
		break;
	}
	case 'bare': {
		let signals = 0;
		process.on('SIGINT', () => (++signals === 1 ? void hang() : process.exit(1)));
		break;
	}
	default:
		throw new Error(`unknown library ${library}`);
}
process.stdout.write('ready\n');
