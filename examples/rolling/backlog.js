#!/usr/bin/env node
// The listen-backlog reset: a connection that the kernel has completed into the listen backlog, but the process
// has not yet taken with accept(), is reset when the listening socket closes, after the client has sent its
// request on it. Each part runs twice: with a bare close of the listening socket, and with drain(), whose stop
// takes what the kernel queued before it closes the socket.
//
//   node examples/rolling/backlog.js [--clients 8] [--rounds 20]
//
// The clients run in a child process, so that the server's event loop and theirs are independent, as on a
// network. The bare close is net.Server's close (connections already accepted are left alone; node's http
// close() would also destroy accepted connections whose request it has not parsed yet, a different loss).
//
// Part 1, the mechanism: the server's event loop is busy for 300 ms (as any loaded process is, now and then);
// meanwhile the clients connect and send a POST. The kernel completes their handshakes by itself, so each
// client sees an open connection and writes its request. The server then stops accepting. Closed at once, every
// one of those clients gets ECONNRESET after its request was sent, and the server never read any of them;
// drain() takes them first (node takes one queued connection per turn of its event loop) and answers them.
// Part 2, the race: clients that open a new connection per request (what `Connection: close` makes them do)
// against a server that stops accepting at a random moment with nothing blocking it. Closed at once, the window
// is the time since the server's last accept(); drain() closes in a turn that found the queue empty, and what is
// left is a connection completed in the microseconds before its close. Clients that keep their connections
// (keep-alive, a proxy pool as large as its concurrency) open none at that moment and lose nothing.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createProc } from 'graceful-proc';
import { drain } from 'graceful-proc/http';

const { values } = parseArgs({
	options: {
		clients: { type: 'string', default: '8' },
		rounds: { type: 'string', default: '20' },
		// Internal: run as the client process.
		client: { type: 'string' },
		mode: { type: 'string' },
	},
});
const CLIENTS = Number(values.clients);

/** One POST on a fresh connection: 'answered', 'refused' (nothing sent) or 'reset' (sent, then reset). */
function post(port) {
	return new Promise((resolve) => {
		let sent = false;
		const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false });
		req.on('finish', () => (sent = true));
		req.on('response', (res) => {
			res.resume();
			res.on('end', () => resolve('answered'));
		});
		req.on('error', () => resolve(sent ? 'reset after sent' : 'refused before sent'));
		req.end('payload');
	});
}

if (values.client !== undefined) {
	// The client process: `burst` sends one POST per client when told to; `loop` keeps sending, a new connection
	// per request, until refused. Prints the outcomes as JSON.
	const port = Number(values.client);
	const lines = createInterface({ input: process.stdin });
	process.stdout.write('ready\n');
	await once(lines, 'line');
	const outcomes = [];
	await Promise.all(
		Array.from({ length: CLIENTS }, async () => {
			do {
				const outcome = await post(port);
				outcomes.push(outcome);
				if (outcome !== 'answered') break;
			} while (values.mode === 'loop');
		}),
	);
	process.stdout.write(`${JSON.stringify(outcomes)}\n`);
	process.exit(0);
}

const closeListener = net.Server.prototype.close;

/** How the server stops accepting: `bare`, net.Server's close at once; `drain`, a drain() stopping it at shutdown. */
function stopper(server, how) {
	if (how === 'bare') return () => closeListener.call(server);
	const proc = createProc({ exit: false, logger: false, signals: [] });
	drain(server, { proc, delay: 0 });
	return () => void proc.shutdown('stop');
}

async function round(mode, how) {
	let read = 0;
	const server = http.createServer((req, res) => {
		read += 1;
		req.resume();
		req.on('end', () => res.end('ok'));
	});
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	const stop = stopper(server, how);
	const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--client', String(server.address().port), '--mode', mode, '--clients', String(CLIENTS)], {
		stdio: ['pipe', 'pipe', 'inherit'],
	});
	const lines = createInterface({ input: child.stdout });
	const [first] = await once(lines, 'line');
	if (first !== 'ready') throw new Error(`client said ${first}`);
	const result = new Promise((resolve) => lines.once('line', (line) => resolve(JSON.parse(line))));
	child.stdin.write('go\n');
	if (mode === 'burst') {
		const until = performance.now() + 300;
		while (performance.now() < until);
		stop();
	} else {
		setTimeout(stop, 150 + Math.random() * 100);
	}
	const outcomes = await result;
	server.closeAllConnections();
	const counts = {};
	for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
	return { counts, read };
}

for (const how of ['bare', 'drain']) {
	const burst = await round('burst', how);
	console.log(
		`${how}: part 1: ${CLIENTS} POSTs sent while the server's loop was busy, then it stopped accepting: ${JSON.stringify(burst.counts)}; ` +
			`requests the server read: ${burst.read}`,
	);
	const resets = [];
	let answered = 0;
	for (let i = 0; i < Number(values.rounds); i++) {
		const { counts } = await round('loop', how);
		resets.push(counts['reset after sent'] ?? 0);
		answered += counts.answered ?? 0;
	}
	console.log(
		`${how}: part 2: ${CLIENTS} clients, a new connection per request, the server stops accepting 150-250 ms in (${answered} requests answered in ${resets.length} rounds); ` +
			`requests reset after being sent, per stop: ${resets.join(' ')} (total ${resets.reduce((a, b) => a + b, 0)})`,
	);
}
