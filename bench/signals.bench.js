// The forced exit on a second signal: from a second SIGINT to the child's 'exit' event, as the parent sees it,
// graceful-proc next to close-with-grace (which exits at once on any second signal), on a quiet machine and with
// busy CPU loops beside it. Markdown goes to stdout, progress to stderr.
//   node bench/signals.bench.js        (or `node bench/run.js signals` to update bench/RESULTS.md)
// ROUNDS changes the number of rounds per row.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('signals/second-signal-child.mjs', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 20);
/** After `ready`, as for a service that has run a while; the same for both libraries. */
const SETTLE_MS = 250;
/** A person's second Ctrl+C, well past any window in which a repeat could be a copy of the first. */
const GAP_MS = 300;
const LIBRARIES = ['graceful-proc', 'graceful-proc-no-watchdog', 'close-with-grace', 'bare'];
const LOADS = [0, 2];

const progress = (message) => process.stderr.write(`signals: ${message}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const percentile = (xs, p) => {
	const s = sorted(xs);
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const fmt = (x) => x.toFixed(1);

function startHogs(n) {
	return Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

/** One round: the child is ready, gets SIGINT, says it is stopping, gets SIGINT again GAP_MS later. */
function round(library) {
	return new Promise((resolve, reject) => {
		const proc = spawn(process.execPath, [child, library], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		let secondAt;
		let state = 'starting';
		const giveUp = setTimeout(() => proc.kill('SIGKILL'), 30_000);
		proc.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
		proc.stdout.setEncoding('utf8').on('data', async (chunk) => {
			stdout += chunk;
			if (state === 'starting' && /^ready$/m.test(stdout)) {
				state = 'ready';
				await sleep(SETTLE_MS);
				proc.kill('SIGINT');
			} else if (state === 'ready' && /^stopping$/m.test(stdout)) {
				state = 'stopping';
				await sleep(GAP_MS);
				secondAt = performance.now();
				proc.kill('SIGINT');
			}
		});
		proc.on('error', reject);
		proc.on('exit', (code, signal) => {
			const exitedAt = performance.now();
			clearTimeout(giveUp);
			if (secondAt === undefined) return reject(new Error(`${library}: exited (${code ?? signal}) before the second signal:\n${stderr}`));
			resolve({ ms: exitedAt - secondAt, code });
		});
	});
}

const out = [];
const print = (...lines) => out.push(...lines);
print(
	`Machine: ${os.cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${os.cpus().length} cores; Node ${process.version}. ` +
		`Load average when the bench started: ${os
			.loadavg()
			.map((x) => x.toFixed(2))
			.join(', ')}; other work on the machine shows up as noise.`,
	'',
	'### The forced exit on a second Ctrl+C',
	'',
	`A child process with one stop task that never finishes (deadline 10 s) prints \`ready\`, runs ${SETTLE_MS} ms more, gets SIGINT,`,
	`says it is stopping, and gets a second SIGINT ${GAP_MS} ms later. The parent measures from just before the second \`kill()\` to the`,
	"child's `exit` event, its stdout and stderr being read (pipes). close-with-grace exits at once on any second signal",
	'(`process.exit(1)`); graceful-proc first judges whether the repeat is a copy of the first, then writes the forced report',
	'and the summary and hands them to the OS, and Node ends its idle watchdog thread at exit. "bare" is a',
	"`process.on('SIGINT')` that exits at once on the second: the cost of delivering a signal and exiting.",
	'"graceful-proc-no-watchdog" runs with `exit: false` and an `onReport` that exits, so no watchdog thread: the difference',
	'from the graceful-proc row is what ending the thread costs at exit, the rest what the forced report and summary cost.',
	`${ROUNDS} rounds per row, alternating the libraries; "hogs": busy CPU loops beside it.`,
	'',
	'| load | library | median ms | p90 ms | max ms | exit code 1 |',
	'|---|---|---|---|---|---|',
);
for (const load of LOADS) {
	progress(`${load} hogs: ${LIBRARIES.length} libraries x ${ROUNDS} rounds`);
	const hogs = startHogs(load);
	const results = Object.fromEntries(LIBRARIES.map((library) => [library, []]));
	try {
		for (let i = 0; i < ROUNDS; i++) for (const library of LIBRARIES) results[library].push(await round(library));
	} finally {
		for (const hog of hogs) hog.kill('SIGKILL');
	}
	for (const library of LIBRARIES) {
		const ms = results[library].map((r) => r.ms);
		const ones = results[library].filter((r) => r.code === 1).length;
		print(`| ${load === 0 ? 'quiet' : `${load} CPU hogs`} | ${library} | ${fmt(percentile(ms, 50))} | ${fmt(percentile(ms, 90))} | ${fmt(Math.max(...ms))} | ${ones} of ${ms.length} |`);
	}
}
progress('done');
console.log(out.join('\n'));
