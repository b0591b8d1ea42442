// What graceful-proc costs a server while it runs: hello-world servers (node:http, Express, Koa) bare, under drain()
// or serve(), and with drainSignal(req) on every request, each in its own process, loaded one at a time by
// autocannon (32 keep-alive connections) in rounds that visit every setup in turn, the order shuffled per round, so
// that whatever else the machine does weighs on all alike. Per setup: requests/s, p99 latency, and the server's
// CPU time per request (its CPU use over the run divided by the requests it answered: the throughput a busy
// single-threaded server would have, less sensitive to the rest of the machine than requests/s).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './start-server.js';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const here = dirname(fileURLToPath(import.meta.url));
const SERVER = join(here, 'costs', 'server.mjs');
const ROUNDS = Number(process.env.COSTS_ROUNDS ?? 5);
const SECONDS = Number(process.env.COSTS_SECONDS ?? 3);
const CONNECTIONS = 32;

const SETUPS = [
	{ key: 'node-bare', label: 'node:http, bare', base: 'node-bare' },
	{ key: 'node-drain', label: 'node:http, `drain(server)`', base: 'node-bare' },
	{ key: 'node-drain-signal', label: 'node:http, `drain(server)`, `drainSignal(req)` on every request', base: 'node-bare' },
	{ key: 'node-undrained-signal', label: 'node:http, not drained, `drainSignal(req)` on every request', base: 'node-bare' },
	{ key: 'node-serve', label: 'node:http handler, `serve(handler)`', base: 'node-bare' },
	{ key: 'express-bare', label: 'Express, `app.listen()`', base: 'express-bare' },
	{ key: 'express-serve', label: 'Express, `serve(app)`', base: 'express-bare' },
	{ key: 'koa-bare', label: 'Koa, `http.createServer(app.callback())`', base: 'koa-bare' },
	{ key: 'koa-serve', label: 'Koa, `serve(app)`', base: 'koa-bare' },
];

const median = (values) => {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = sorted.length >> 1;
	return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const pct = (value, base) => `${value >= base ? '+' : ''}${((value / base - 1) * 100).toFixed(1)} %`;

async function cpuOf(port) {
	const response = await fetch(`http://127.0.0.1:${port}/__cpu`);
	return Number(await response.text());
}

async function measure(setup) {
	const server = startServer(SERVER, [setup.key], setup.key);
	const port = await server.ready;
	const url = `http://127.0.0.1:${port}/`;
	// The first second warms the JIT up and is not counted.
	await autocannon({ url, connections: CONNECTIONS, duration: 1 });
	const before = await cpuOf(port);
	const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS });
	const after = await cpuOf(port);
	server.child.kill('SIGKILL');
	await server.exited;
	const bad = result.errors + result.timeouts + result.non2xx;
	return { rate: result.requests.total / SECONDS, p99: result.latency.p99, cpu: (after - before) / result.requests.total, bad };
}

// drainSignal()'s own work, in-process (bench/costs/in-process.mjs), in fresh processes before the load runs.
const IN_PROCESS_RUNS = 5;
const inProcess = [];
for (let run = 0; run < IN_PROCESS_RUNS; run++) inProcess.push(JSON.parse(execFileSync(process.execPath, [join(here, 'costs', 'in-process.mjs')], { encoding: 'utf8' })));

const runs = Object.fromEntries(SETUPS.map((setup) => [setup.key, []]));
const load = os.loadavg();
const started = performance.now();
for (let round = 0; round < ROUNDS; round++) {
	const order = [...SETUPS].sort(() => Math.random() - 0.5);
	for (const setup of order) runs[setup.key].push(await measure(setup));
	process.stderr.write(`costs: round ${round + 1}/${ROUNDS} done\n`);
}
const loadAfter = os.loadavg();
const minutes = ((performance.now() - started) / 60_000).toFixed(1);

/** Per round, this setup against its base (measured in the same round), then the median of those ratios. */
const perRound = (key, base, field) => median(runs[key].map((run, i) => run[field] / runs[base][i][field]));

console.log(`### Steady-state cost: hello-world servers, ${ROUNDS} rounds\n`);
console.log(`autocannon, ${CONNECTIONS} keep-alive connections, ${SECONDS} s per setup per round after 1 s of warm-up; every setup once per`);
console.log(`round in a shuffled order, each server a fresh process, one loaded at a time. ${os.cpus().length} cores, Node ${process.version};`);
console.log(`load average ${load.map((l) => l.toFixed(2)).join(', ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(', ')} after (${minutes} min):`);
console.log('the machine was shared with other work, so rates swing from round to round; the per-round ratios cancel what');
console.log('weighs on a whole round. The client shares the two cores with the server, so requests/s understates a server alone.');
console.log('*vs bare*: per round, the setup over its bare server in the same round, then the median of those ratios.\n');
console.log('| setup | req/s, median | vs bare (req/s) | p99 latency, median (ms) | server CPU per request, median (µs) | vs bare (CPU per request) | errors |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const setup of SETUPS) {
	const rows = runs[setup.key];
	const rate = median(rows.map((r) => r.rate));
	const p99 = median(rows.map((r) => r.p99));
	const cpu = median(rows.map((r) => r.cpu));
	const same = setup.key === setup.base;
	const rateVs = same ? '' : pct(perRound(setup.key, setup.base, 'rate'), 1);
	const cpuVs = same ? '' : pct(perRound(setup.key, setup.base, 'cpu'), 1);
	const bad = rows.reduce((sum, r) => sum + r.bad, 0);
	console.log(`| ${setup.label} | ${Math.round(rate).toLocaleString('en-US')} | ${rateVs} | ${p99.toFixed(1)} | ${cpu.toFixed(2)} | ${cpuVs} | ${bad} |`);
}
console.log('');
console.log('Per-round ratios (req/s, setup over its bare server), to show the spread:\n');
for (const setup of SETUPS) {
	if (setup.key === setup.base) continue;
	const ratios = runs[setup.key].map((run, i) => pct(run.rate / runs[setup.base][i].rate, 1));
	console.log(`- ${setup.label}: ${ratios.join(', ')}`);
}

const ns = (key) => median(inProcess.map((run) => run[key]));
// The least disturbed round: load on the machine inflates CPU per request too (caches, shared cores), so the lowest
// is the fairest denominator and the largest share.
const bareRequestNs = Math.min(...runs['node-bare'].map((run) => run.cpu)) * 1000;
const share = (extra) => `${extra >= 0 ? '+' : ''}${Math.round(extra)} ns = ${((extra / bareRequestNs) * 100).toFixed(1)} %`;
console.log('');
console.log(`### drainSignal(req)'s own work per request, in-process\n`);
console.log("node's 'request' event on a real http server, one keep-alive connection (a socket object) carrying 100,000 requests per");
console.log("batch, the handler asking for `drainSignal(req)` and reading `.aborted`, then the response's 'finish' and 'close' as node");
console.log(`emits them; CPU time of the process per request (not wall time: the machine was shared), median of 9 batches (setups`);
console.log(`interleaved) per process, then of ${IN_PROCESS_RUNS} processes. The share is of the bare server's CPU per request measured above, the lowest`);
console.log(`of its rounds (${(bareRequestNs / 1000).toFixed(2)} µs, the whole of a hello-world request: parsing, the handler, writing the response).\n`);
console.log('| setup | CPU per request (ns) | added by drainSignal, of a bare request |');
console.log('|---|---:|---:|');
console.log(`| bare | ${Math.round(ns('bare'))} | |`);
console.log(`| \`drain(server)\` | ${Math.round(ns('drain'))} | |`);
console.log(`| \`drain(server)\` + \`drainSignal(req)\` | ${Math.round(ns('drain+drainSignal'))} | ${share(ns('drain+drainSignal') - ns('drain'))} (over \`drain()\` alone) |`);
console.log(`| not drained + \`drainSignal(req)\` | ${Math.round(ns('undrained+drainSignal'))} | ${share(ns('undrained+drainSignal') - ns('bare'))} (over bare) |`);
