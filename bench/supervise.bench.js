// graceful-proc/supervise measured against a hand-written child_process.spawn, in fresh processes
// (bench/supervise/parent.mjs, on the built package). A parent starts a child that has a child of its own:
// 1. SIGTERM to the parent: how long until the parent has exited and until the whole tree is gone;
// 2. SIGKILL to the parent: how long until its child and grandchild are gone, if ever;
// 3. what the watchdog costs: the time from the call to the child running, and the watchdog's memory.
//   node bench/supervise.bench.js     (or `node bench/run.js supervise` to update bench/RESULTS.md)
// ROUNDS changes the number of rounds per variant and signal. Linux: memory is read from /proc.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const parentPath = fileURLToPath(new URL('supervise/parent.mjs', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 10);
/** A process still running this long after the signal counts as left behind (and is then killed by the bench). */
const LEFT_BEHIND_AFTER_MS = 3000;
const POLL_MS = 5;
const hasProc = existsSync('/proc/self/stat');

const progress = (message) => process.stderr.write(`supervise: ${message}\n`);
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const percentile = (xs, p) => {
	const s = sorted(xs);
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const median = (xs) => percentile(xs, 50);
const fmt = (x, digits = 1) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(digits));
const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

function stat(pid) {
	try {
		const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
		return { state: fields[0], ppid: Number(fields[1]) };
	} catch {
		return undefined;
	}
}

/** Running: kill(pid, 0) succeeds and it is not a zombie (an orphan that exited waits for init to reap it). */
function isRunning(pid) {
	try {
		process.kill(pid, 0);
	} catch (error) {
		return error.code === 'EPERM';
	}
	return !hasProc || (stat(pid)?.state ?? 'Z') !== 'Z';
}

function childrenOf(pid) {
	if (!hasProc) return [];
	return readdirSync('/proc')
		.filter((entry) => /^\d+$/.test(entry))
		.map(Number)
		.filter((candidate) => stat(candidate)?.ppid === pid);
}

function memoryOf(pid) {
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
		const kb = (text, field) => Number(text.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'))?.[1]);
		return {
			rss: kb(status, 'VmRSS') / 1024,
			pss: kb(rollup, 'Pss') / 1024,
			private: (kb(rollup, 'Private_Clean') + kb(rollup, 'Private_Dirty')) / 1024,
		};
	} catch {
		return undefined;
	}
}

async function waitGone(pids, limitMs) {
	const start = performance.now();
	for (;;) {
		if (!pids.some(isRunning)) return performance.now() - start;
		if (performance.now() - start > limitMs) return undefined;
		await new Promise((resolve) => setTimeout(resolve, POLL_MS));
	}
}

/** One round: start the parent, wait until it and its child are up, send `signal`, measure. */
function round(variant, signal) {
	return new Promise((resolve, reject) => {
		const parent = spawn(process.execPath, [parentPath, variant], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		let startMs;
		let pids;
		let sentAt;
		let parentExitMs;
		const notReady = setTimeout(() => parent.kill('SIGKILL'), 30_000);
		parent.stderr.setEncoding('utf8').on('data', (chunk) => {
			stderr += chunk;
		});
		parent.on('exit', () => {
			if (sentAt === undefined) {
				clearTimeout(notReady);
				reject(new Error(`${variant}: the parent exited before it was ready:\n${stderr}`));
				return;
			}
			parentExitMs = performance.now() - sentAt;
		});
		parent.stdout.setEncoding('utf8').on('data', async (chunk) => {
			stdout += chunk;
			startMs ??= Number(stdout.match(/^parent ready ([\d.]+)$/m)?.[1]) || undefined;
			const child = stdout.match(/^child (\d+) (\d+)$/m);
			if (sentAt !== undefined || startMs === undefined || child === null) return;
			clearTimeout(notReady);
			pids = [Number(child[1]), Number(child[2])];
			const watchdog = childrenOf(parent.pid).find((pid) => !pids.includes(pid));
			const memory = watchdog === undefined ? undefined : { watchdog: memoryOf(watchdog), parent: memoryOf(parent.pid) };
			sentAt = performance.now();
			parent.kill(signal);
			const goneMs = await waitGone(pids, LEFT_BEHIND_AFTER_MS);
			const leftBehind = pids.filter(isRunning);
			for (const pid of [...leftBehind, parent.pid]) {
				try {
					process.kill(pid, 'SIGKILL');
				} catch {}
			}
			if (parentExitMs === undefined) await new Promise((res) => parent.once('exit', res));
			resolve({ startMs, parentExitMs, goneMs, leftBehind: leftBehind.length, memory });
		});
	});
}

const VARIANTS = [
	['supervise', '`supervise()` with `killGroup` (watchdog on, the default)'],
	['supervise-no-watchdog', '`supervise()` with `killGroup`, `watchdog: false`'],
	['spawn', 'hand-written: `child_process.spawn`, `child.kill()` on SIGTERM, exit on the child\'s exit'],
	['spawn-group', 'hand-written, careful: `detached`, `process.kill(-pid)` on SIGTERM'],
];

const results = {};
for (const [variant] of VARIANTS) {
	results[variant] = { SIGTERM: [], SIGKILL: [] };
	for (const signal of ['SIGTERM', 'SIGKILL']) {
		progress(`${variant} ${signal} x${ROUNDS}`);
		for (let i = 0; i < ROUNDS; i += 1) results[variant][signal].push(await round(variant, signal));
	}
}

const out = [];
out.push(
	`${ROUNDS} rounds per variant and signal; the child is a node process with a node grandchild, and it exits at once on SIGTERM. ` +
		`Times in ms, measured in the bench process (polling every ${POLL_MS} ms for the children); a process still running ` +
		`${LEFT_BEHIND_AFTER_MS / 1000} s after the signal counts as left behind. Load average at the start: ` +
		`${os
			.loadavg()
			.map((x) => x.toFixed(2))
			.join(', ')} (${os.cpus().length} cores).`,
	'',
	'Variants:',
	...VARIANTS.map(([variant, what]) => `- \`${variant}\`: ${what}`),
	'',
	'### SIGTERM to the parent: until the parent has exited, and until its child and grandchild are gone',
	'',
);
const summary = (rows, key) => {
	const xs = rows.map((r) => r[key]).filter((x) => x !== undefined);
	return xs.length === 0 ? 'never' : `${fmt(median(xs))} / ${fmt(percentile(xs, 90))}`;
};
const leftBehind = (rows) => {
	const total = rows.reduce((sum, r) => sum + r.leftBehind, 0);
	return `${total} of ${rows.length * 2}`;
};
out.push(
	table(
		['variant', 'parent exit, median / p90', 'tree gone, median / p90', 'processes left behind'],
		VARIANTS.map(([variant]) => {
			const rows = results[variant].SIGTERM;
			return [`\`${variant}\``, summary(rows, 'parentExitMs'), summary(rows, 'goneMs'), leftBehind(rows)];
		}),
	),
	'',
	'### SIGKILL to the parent (it gets no chance to clean up): until its child and grandchild are gone',
	'',
	table(
		['variant', 'children gone, median / p90', 'processes left behind'],
		VARIANTS.map(([variant]) => {
			const rows = results[variant].SIGKILL;
			return [`\`${variant}\``, summary(rows, 'goneMs'), leftBehind(rows)];
		}),
	),
	'',
	'### What the watchdog costs',
	'',
);
const starts = (variant) => [...results[variant].SIGTERM, ...results[variant].SIGKILL].map((r) => r.startMs);
out.push(
	table(
		['variant', 'call to child running, median / p90 (ms)'],
		VARIANTS.map(([variant]) => [`\`${variant}\``, `${fmt(median(starts(variant)), 2)} / ${fmt(percentile(starts(variant), 90), 2)}`]),
	),
	'',
);
const memories = [...results.supervise.SIGTERM, ...results.supervise.SIGKILL].map((r) => r.memory).filter((m) => m?.watchdog);
if (memories.length > 0) {
	const column = (pick) => fmt(median(memories.map(pick)));
	out.push(
		table(
			['process', 'RSS (MB)', 'PSS (MB)', 'private (MB)'],
			[
				['watchdog (one per parent, shared by all its supervised children)', column((m) => m.watchdog.rss), column((m) => m.watchdog.pss), column((m) => m.watchdog.private)],
				['the parent, for scale', column((m) => m.parent.rss), column((m) => m.parent.pss), column((m) => m.parent.private)],
			],
		),
		'',
		'RSS counts the node binary\'s pages, which the watchdog shares with every other node process; PSS divides shared pages ' +
			'among the processes using them; private is what the watchdog alone adds.',
		'',
	);
} else {
	out.push('(watchdog memory: /proc not available on this platform)', '');
}
out.push(
	'Reading: on SIGTERM, `spawn` stops the child but orphans the grandchild; `supervise()` with `killGroup` takes the group down. ' +
		'On SIGKILL nothing in the parent runs: only the watchdog (a separate process that sees the parent\'s pipe close) stops the children; ' +
		'without it, or by hand, they run on.',
);
console.log(out.join('\n'));
