// A service whose stop never finishes, so that only a second signal ends it before its deadline (10 s).
//   node second-signal-child.mjs <library>      library: graceful-proc | close-with-grace
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
	case 'graceful-proc': {
		const { addWrapUpListener, setTimeToForceQuit } = await import('graceful-proc');
		setTimeToForceQuit(DEADLINE_MS);
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
	default:
		throw new Error(`unknown library ${library}`);
}
process.stdout.write('ready\n');
