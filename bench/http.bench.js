// graceful-proc/http against its peers, in one run.
// 1. Shutdown under load: keep-alive clients (12 loops on 8 pooled sockets, handlers of 20-200 ms, a fifth of
//    them streamed, pauses of 0-20 ms, 1 ms of client work per response) and a SIGTERM in the middle; the
//    clients stop 2 s after it, as when a load balancer has moved them. Per shutdown: requests lost (sent,
//    then reset or hung up), requests the server read but never answered, and the time from SIGTERM to exit.
//    Same server, same handler, same load for every peer: the load of test/http/http-load.test.ts.
// 2. Overhead while not shutting down: a bare server and a drained one under autocannon side by side (CPU time
//    per request, requests/s), and drain()'s own work per request measured in-process.
// Prints markdown tables to stdout, progress to stderr. Runs against dist/ (npm run build first).
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import { createProc } from 'graceful-proc';
import { drain } from 'graceful-proc/http';
import { fileURLToPath } from 'node:url';
import { runLoad, summarize } from './http/load.js';
import { startServer } from './start-server.js';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const server = fileURLToPath(new URL('./http/peer-server.mjs', import.meta.url));

const ROUNDS = Number(process.env.HTTP_BENCH_ROUNDS ?? 5);
const PEERS = ['graceful-proc', 'http-terminator', 'stoppable', 'http-graceful-shutdown', '@godaddy/terminus', 'server.close()'];
const THROUGHPUT_RUNS = Number(process.env.HTTP_BENCH_THROUGHPUT_RUNS ?? 8);
const THROUGHPUT_SECONDS = 4;

function start(peer) {
	const started = startServer(server, [peer], `${peer} server`);
	const seen = () => {
		const line = started.output().split('\n').find((l) => l.startsWith('{"seen"'));
		return line ? new Set(JSON.parse(line).seen) : undefined;
	};
	return { ...started, seen };
}

async function shutdownUnderLoad(peer) {
	const server = start(peer);
	const port = await server.ready;
	let sigtermAt = 0;
	const { requests } = await runLoad({
		port,
		loops: 12,
		sockets: 8,
		minMs: 20,
		maxMs: 200,
		thinkMs: 20,
		busyMs: 1,
		streamShare: 0.2,
		warmupMs: 600,
		afterTriggerMs: 2000,
		trigger: () => {
			sigtermAt = performance.now();
			server.child.kill('SIGTERM');
		},
		until: server.exited,
	});
	const exit = await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
	if (exit === undefined) server.child.kill('SIGKILL');
	const summary = summarize(requests, server.seen());
	return { ...summary, exitMs: exit ? exit.at - sigtermAt : Number.NaN, exit: exit ? (exit.code ?? exit.signal) : 'hung' };
}

/**
 * The bare and the drained server side by side: both loaded at the same time, so whatever else the machine
 * does at that moment weighs on both alike. Returns each one's requests/s and CPU time per request.
 */
async function throughputPair(drainedFirst) {
	const servers = { bare: start('bare'), drained: start('graceful-proc') };
	const ports = { bare: await servers.bare.ready, drained: await servers.drained.ready };
	// Which one is started first alternates from run to run, so that being first favours neither.
	const order = drainedFirst ? ['drained', 'bare'] : ['bare', 'drained'];
	const load = async (duration) => {
		const results = await Promise.all(order.map((name) => autocannon({ url: `http://127.0.0.1:${ports[name]}/`, connections: 16, duration })));
		return Object.fromEntries(order.map((name, index) => [name, results[index]]));
	};
	// The first second warms the JIT up and is not counted.
	await load(1);
	const before = { bare: await cpu(ports.bare), drained: await cpu(ports.drained) };
	const { bare, drained } = await load(THROUGHPUT_SECONDS);
	const after = { bare: await cpu(ports.bare), drained: await cpu(ports.drained) };
	for (const server of Object.values(servers)) server.child.kill('SIGKILL');
	await Promise.all(Object.values(servers).map((server) => server.exited));
	return {
		bare: { rate: bare.requests.average, cpuPerRequest: (after.bare - before.bare) / bare.requests.total },
		drained: { rate: drained.requests.average, cpuPerRequest: (after.drained - before.drained) / drained.requests.total },
	};
}

/**
 * drain()'s own work per request, measured in-process where nothing else interferes: node's 'request' event
 * and the response's 'finish', on a real http server, with and without drain(). Nanoseconds per request.
 */
async function bookkeeping() {
	const REQUESTS = 200_000;
	const noop = () => {};
	const make = async (drained) => {
		const server = http.createServer(() => {});
		server.listen(0, '127.0.0.1');
		await new Promise((resolve) => server.once('listening', resolve));
		if (drained) drain(server, { proc: createProc({ exit: false, logger: false, signals: ['SIGUSR2'] }) });
		const socket = new net.Socket();
		server.emit('connection', socket);
		return { server, socket };
	};
	const loop = ({ server, socket }) => {
		const started = process.hrtime.bigint();
		for (let i = 0; i < REQUESTS; i++) {
			const request = new http.IncomingMessage(socket);
			request.httpVersionMajor = 1;
			const response = new http.ServerResponse(request);
			// node's own 'finish' listener, which a real response always has.
			response.on('finish', noop);
			server.emit('request', request, response);
			response.emit('finish');
		}
		return Number(process.hrtime.bigint() - started) / REQUESTS;
	};
	const bare = await make(false);
	const drained = await make(true);
	const times = { bare: [], drained: [] };
	for (let round = 0; round < 9; round++) {
		times.bare.push(loop(bare));
		times.drained.push(loop(drained));
	}
	for (const { server, socket } of [bare, drained]) {
		socket.destroy();
		server.close();
	}
	return { bare: median(times.bare), drained: median(times.drained) };
}

async function cpu(port) {
	const response = await fetch(`http://127.0.0.1:${port}/__cpu`);
	return (await response.json()).cpu;
}

const median = (values) => {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const sum = (values) => values.reduce((a, b) => a + b, 0);

const results = new Map(PEERS.map((peer) => [peer, []]));
for (let round = 1; round <= ROUNDS; round++) {
	for (const peer of PEERS) {
		const result = await shutdownUnderLoad(peer);
		results.get(peer).push(result);
		console.error(`round ${round} ${peer}: lost ${result.lost}, read-not-answered ${result.acceptedNotAnswered ?? '?'}, exit ${Math.round(result.exitMs)} ms (${result.exit})`);
	}
}

console.log(`### Shutdown under keep-alive load (${ROUNDS} rounds each)\n`);
console.log('12 client loops on 8 keep-alive sockets, handlers of 20-200 ms (a fifth of them streamed), SIGTERM after 600 ms;');
console.log('the clients stop when refused, or 2 s after the SIGTERM. Every peer force-quits after 10 s.');
console.log('*lost*: sent, then reset or hung up (the client cannot tell whether it ran); *read, not answered*: of those,');
console.log('the ones the server had read; *refused*: failed before being sent (safe to retry); exit: SIGTERM to process exit.\n');
console.log('| shutdown by | lost per shutdown (mean, max) | read, not answered (total) | refused (mean) | answered (mean) | exit after SIGTERM, ms (median, max) | exit code |');
console.log('|---|---|---|---|---|---|---|');
for (const [peer, rows] of results) {
	const lost = rows.map((r) => r.lost);
	const unanswered = rows.some((r) => r.acceptedNotAnswered === undefined) ? '?' : sum(rows.map((r) => r.acceptedNotAnswered));
	const exits = rows.map((r) => r.exitMs);
	const codes = [...new Set(rows.map((r) => r.exit))].join(', ');
	console.log(
		`| ${peer} | ${(sum(lost) / rows.length).toFixed(1)}, ${Math.max(...lost)} | ${unanswered} | ${(sum(rows.map((r) => r.refused)) / rows.length).toFixed(1)} | ${(sum(rows.map((r) => r.answered)) / rows.length).toFixed(0)} | ${Math.round(median(exits))}, ${Math.round(Math.max(...exits))} | ${codes} |`,
	);
}

const pairs = [];
for (let run = 0; run < THROUGHPUT_RUNS; run++) {
	const pair = await throughputPair(run % 2 === 1);
	pairs.push(pair);
	console.error(
		`throughput: bare ${Math.round(pair.bare.rate)} req/s ${pair.bare.cpuPerRequest.toFixed(2)} µs/req, drained ${Math.round(pair.drained.rate)} req/s ${pair.drained.cpuPerRequest.toFixed(2)} µs/req`,
	);
}
const percent = (ratio) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)} %`;
const rateRatios = pairs.map((p) => p.drained.rate / p.bare.rate);
const cpuRatios = pairs.map((p) => p.drained.cpuPerRequest / p.bare.cpuPerRequest);
const bareCpu = median(pairs.map((p) => p.bare.cpuPerRequest));
const own = await bookkeeping();
const ownNs = own.drained - own.bare;
console.log(`\n### Overhead while not shutting down\n`);
console.log('A bare node:http server and one under drain(), both answering `ok` (the cheapest handler there is, so the largest');
console.log(`relative overhead), loaded side by side by autocannon (16 connections each; ${THROUGHPUT_RUNS} runs of ${THROUGHPUT_SECONDS} s, which one starts first`);
console.log('alternating), so that the rest of the machine weighs on both alike. A node server is single-threaded: its');
console.log('throughput when busy is 1 / its CPU time per request, the row to read. Requests/s side by side mostly shows how the');
console.log("one client process shared itself between the two. The last row measures drain()'s own work per request in-process,");
console.log('where nothing else interferes.\n');
console.log('| | bare node:http | drain(server) | drained vs bare |');
console.log('|---|---|---|---|');
console.log(
	`| requests/s (median) | ${Math.round(median(pairs.map((p) => p.bare.rate)))} | ${Math.round(median(pairs.map((p) => p.drained.rate)))} | ${percent(median(rateRatios))} (runs: ${rateRatios.map(percent).join(', ')}) |`,
);
console.log(
	`| server CPU per request, µs (median; throughput overhead) | ${bareCpu.toFixed(2)} | ${median(pairs.map((p) => p.drained.cpuPerRequest)).toFixed(2)} | ${percent(median(cpuRatios))} (runs: ${cpuRatios.map(percent).join(', ')}) |`,
);
console.log(
	`| bookkeeping per request, in-process, ns | ${Math.round(own.bare)} | ${Math.round(own.drained)} | +${Math.round(ownNs)} ns = ${((ownNs / 1000 / bareCpu) * 100).toFixed(1)} % of the bare server's CPU per request |`,
);
