// Imports one library, registers one listener, idles for a second, and prints what that cost the process.
//   node idle-child.mjs <none | graceful-proc | graceful-proc:at-shutdown | graceful-proc:off | exit-hook | close-with-grace | async-exit-hook | terminus | worker>
import { readFileSync } from 'node:fs';

const [specifier] = process.argv.slice(2);
const cpuStart = process.cpuUsage();
const start = performance.now();
if (specifier.startsWith('graceful-proc')) {
	const { addWrapUpListener, configure } = await import('graceful-proc');
	const watchdog = specifier.split(':')[1];
	if (watchdog) configure({ watchdog });
	addWrapUpListener(() => {});
}
else if (specifier === 'exit-hook') (await import('exit-hook')).asyncExitHook(() => {}, { wait: 1000 });
else if (specifier === 'close-with-grace') (await import('close-with-grace')).default({ logger: false }, () => {});
else if (specifier === 'async-exit-hook') (await import('async-exit-hook')).default(() => {});
else if (specifier === 'terminus') (await import('@godaddy/terminus')).createTerminus((await import('node:http')).createServer(), { onSignal: async () => {} });
else if (specifier === 'worker') new (await import('node:worker_threads')).Worker('setInterval(() => {}, 1e9)', { eval: true }).unref();
else if (specifier !== 'none') throw new Error(`unknown library ${specifier}`);
const readyMs = performance.now() - start;

// What a service holds while it waits for work.
const keepAlive = setInterval(() => {}, 60_000);
await new Promise((resolve) => setTimeout(resolve, 1000));
clearInterval(keepAlive);

const cpu = process.cpuUsage(cpuStart);
const field = (text, name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
const status = readFileSync('/proc/self/status', 'utf8');
let rollup = '';
try {
	rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
} catch {}
const mb = (kb) => kb / 1024;
process.stdout.write(
	`${JSON.stringify({
		readyMs,
		cpuMs: (cpu.user + cpu.system) / 1000,
		threads: field(status, 'Threads'),
		rssMb: mb(field(status, 'VmRSS')),
		pssMb: mb(field(rollup, 'Pss')),
		privateMb: mb(field(rollup, 'Private_Clean') + field(rollup, 'Private_Dirty')),
	})}\n`,
);
// The hooks just registered must not run (close-with-grace and exit-hook act on 'beforeExit').
process.exit(0);
