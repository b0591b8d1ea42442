// The parent of the supervise bench: `parent.mjs <variant>` starts bench/supervise/child.mjs and prints
// `parent ready <ms from the spawn call to the child running>` once it runs. Variants:
//   supervise             graceful-proc/supervise with killGroup (and its watchdog, the default)
//   supervise-no-watchdog the same with watchdog: false
//   spawn                 hand-written: child_process.spawn, child.kill() on SIGTERM, exit when it has exited
//   spawn-group           hand-written, careful: detached, process.kill(-pid) on SIGTERM
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const variant = process.argv[2];
const childPath = fileURLToPath(new URL('child.mjs', import.meta.url));
let started = performance.now();
const ready = () => console.log(`parent ready ${(performance.now() - started).toFixed(2)}`);

if (variant === 'supervise' || variant === 'supervise-no-watchdog') {
	const { supervise } = await import('graceful-proc/supervise');
	// From the call, like the hand-written variants: loading the module is not part of it.
	started = performance.now();
	const handle = supervise(process.execPath, [childPath], {
		name: 'child',
		stdio: 'inherit',
		killGroup: true,
		startSecs: 0,
		watchdog: variant === 'supervise',
	});
	handle.once('state', (state) => state === 'running' && ready());
} else if (variant === 'spawn' || variant === 'spawn-group') {
	const group = variant === 'spawn-group';
	const child = spawn(process.execPath, [childPath], { stdio: 'inherit', detached: group });
	child.once('spawn', ready);
	process.on('SIGTERM', () => {
		child.once('exit', () => process.exit(0));
		if (group) process.kill(-child.pid, 'SIGTERM');
		else child.kill('SIGTERM');
	});
} else {
	throw new Error(`unknown variant ${variant}`);
}
