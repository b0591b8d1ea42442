// Long-lived connections at SIGTERM: a service (bench/realtime/service.mjs: Express, SSE, ws) with 1,000 WebSockets
// and 200 Server-Sent Events streams open gets a SIGTERM. Per library: how the WebSockets closed (1001 Going Away,
// or 1006: cut), whether each SSE stream ended with its last event, the exit, and how the closes fall in time
// (closes per 100 ms: everything at once means every client reconnects elsewhere in the same instant).
// Prints markdown to stdout, progress to stderr. Runs against dist/ (npm run build first).
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { startServer } from './start-server.js';

const version = (name) => createRequire(import.meta.url)(`${name}/package.json`).version;

const service = fileURLToPath(new URL('./realtime/service.mjs', import.meta.url));
const WEBSOCKETS = Number(process.env.REALTIME_BENCH_WEBSOCKETS ?? 1000);
const STREAMS = Number(process.env.REALTIME_BENCH_STREAMS ?? 200);
/** graceful-proc's default spread: the service sets none. */
const SPREAD = 10_000;
/** How long a service gets after SIGTERM before it is killed (what Kubernetes' SIGKILL would do, sooner). */
const CAP_MS = SPREAD + 5000;
const VARIANTS = ['graceful-proc', '@godaddy/terminus', 'http-terminator', 'server.close()', 'server.close() alone'];
const SERVICE_ARG = { '@godaddy/terminus': 'terminus' };
const BUCKET_MS = 100;

function start(variant) {
	return startServer(service, [SERVICE_ARG[variant] ?? variant], variant);
}

function openWs(port) {
	return new Promise((resolve, reject) => {
		const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
		const closed = new Promise((r) => socket.on('close', (code) => r({ kind: 'ws', code, at: performance.now() })));
		socket.on('error', () => {});
		socket.once('message', () => resolve({ closed }));
		socket.once('close', () => reject(new Error('closed before its first message')));
	});
}

function openSse(port) {
	return new Promise((resolve, reject) => {
		const req = http.get({ host: '127.0.0.1', port, path: '/events', agent: false }, (res) => {
			let body = '';
			let first = true;
			const ended = new Promise((r) => {
				res.on('end', () => r({ kind: 'sse', clean: res.complete, bye: body.includes('event: bye'), at: performance.now() }));
				res.on('error', () => r({ kind: 'sse', clean: false, bye: body.includes('event: bye'), at: performance.now() }));
			});
			res.setEncoding('utf8').on('data', (chunk) => {
				body += chunk;
				if (first && body.includes('\n\n')) {
					first = false;
					resolve({ closed: ended });
				}
			});
		});
		req.on('error', reject);
	});
}

/** Opens `count` connections (each resolves to `{ closed }`: a promise would be adopted), `batch` at a time, so that the listen backlog never overflows. */
async function openMany(count, open, batch = 50) {
	const all = [];
	for (let i = 0; i < count; i += batch) all.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, open))));
	return all;
}

async function run(variant) {
	const server = start(variant);
	const port = await server.ready;
	process.stderr.write(`${variant}: opening ${WEBSOCKETS} WebSockets and ${STREAMS} SSE streams\n`);
	const ws = await openMany(WEBSOCKETS, () => openWs(port));
	const sse = await openMany(STREAMS, () => openSse(port));
	const sigtermAt = performance.now();
	server.child.kill('SIGTERM');
	const timer = setTimeout(() => server.child.kill('SIGKILL'), CAP_MS);
	const exit = await server.exited;
	clearTimeout(timer);
	// Whatever is still open when the process is gone is closed by the kernel: those ends come now.
	const ends = await Promise.all([...ws, ...sse].map((client) => client.closed));
	const times = ends.map((end) => end.at - sigtermAt);
	const buckets = new Map();
	for (const t of times) buckets.set(Math.floor(t / BUCKET_MS), (buckets.get(Math.floor(t / BUCKET_MS)) ?? 0) + 1);
	const [busiestBucket, busiest] = [...buckets].sort((a, b) => b[1] - a[1])[0];
	const codes = new Map();
	for (const end of ends) if (end.kind === 'ws') codes.set(end.code, (codes.get(end.code) ?? 0) + 1);
	const sseEnds = ends.filter((end) => end.kind === 'sse');
	return {
		variant,
		ws1001: codes.get(1001) ?? 0,
		otherCodes: [...codes].filter(([code]) => code !== 1001).map(([code, n]) => `${n} × ${code}`).join(', ') || 'none',
		sseBye: sseEnds.filter((end) => end.clean && end.bye).length,
		sseCut: sseEnds.filter((end) => !end.clean).length,
		exit: exit.code ?? exit.signal,
		killed: exit.signal === 'SIGKILL',
		exitMs: exit.at - sigtermAt,
		firstMs: Math.min(...times),
		lastMs: Math.max(...times),
		busiest,
		busiestAt: busiestBucket * BUCKET_MS,
	};
}

const results = [];
for (const variant of VARIANTS) {
	const result = await run(variant);
	results.push(result);
	process.stderr.write(`${JSON.stringify(result)}\n`);
}

const total = WEBSOCKETS + STREAMS;
const even = (total * BUCKET_MS) / SPREAD;
const fmt = (ms) => Math.round(ms).toLocaleString('en-US');
const lines = [
	`${WEBSOCKETS.toLocaleString('en-US')} WebSockets (\`ws\`) and ${STREAMS} Server-Sent Events streams open on an Express service when`,
	`it gets SIGTERM; clients in another process on 127.0.0.1. graceful-proc with its defaults (\`serve(app)\`, spread 10 s,`,
	`each handler ending its stream on \`drainSignal(req)\`); each peer as its user would set it up: every stream ended`,
	'at once in its shutdown hook (SSE with a last event, WebSockets with 1001), then its own shutdown;',
	`\`server.close() alone\` ends no stream. A service still running ${CAP_MS / 1000} s after SIGTERM is killed (SIGKILL).`,
	`Even share over the spread: ${even.toFixed(0)} closes per ${BUCKET_MS} ms. ${os.cpus().length} cores (${os.cpus()[0]?.model?.trim() ?? 'unknown CPU'}), Node ${process.version},`,
	`ws ${version('ws')}, express ${version('express')}.`,
	'',
	'| shutdown by | WebSockets closed 1001 | other WebSocket closes | SSE ended with last event | SSE cut | exit | SIGTERM to exit, ms | first / last close, ms | busiest 100 ms (closes, at ms) |',
	'|---|---|---|---|---|---|---|---|---|',
	...results.map(
		(r) =>
			`| ${r.variant} | ${r.ws1001} | ${r.otherCodes} | ${r.sseBye} | ${r.sseCut} | ${r.killed ? 'killed (SIGKILL)' : r.exit} | ${fmt(r.exitMs)} | ${fmt(r.firstMs)} / ${fmt(r.lastMs)} | ${r.busiest} at ${r.busiestAt} |`,
	),
	'',
	'- Every library that ends the streams in its hook closes them cleanly, but all in the same few hundred',
	'  milliseconds: every client reconnects to the other instances at once. graceful-proc tells them one',
	'  connection at a time over the spread, and the process exits right after the last one has closed.',
	'- terminus ends by raising the signal again once its cleanup is done (unless `useExit0`): the process dies',
	'  of SIGTERM (status 143), which Kubernetes reports as an error exit.',
	'- `server.close()` alone waits for streams that never end, until SIGKILL: every client is cut (1006, reset).',
];
process.stdout.write(`${lines.join('\n')}\n`);
