#!/usr/bin/env node
// The loss no server can prevent: a connection that the kernel has completed into the listen backlog, but the
// process has not yet taken with accept(), is reset when the listening socket closes, after the client has sent
// its request on it.
//
//   node examples/rolling/backlog.js [--clients 8] [--rounds 20]
//
// The clients run in a child process, so that the server's event loop and theirs are independent, as on a
// network. The server closes its listening socket the way drain() does (net.Server's close: connections
// already accepted are left alone; node's http close() would also destroy accepted connections whose request
// it has not parsed yet, a different loss).
//
// Part 1, the mechanism: the server's event loop is busy for 300 ms (as any loaded process is, now and then);
// meanwhile the clients connect and send a POST. The kernel completes their handshakes by itself, so each
// client sees an open connection and writes its request. The server then closes its listening socket, as every
// shutdown must at some point. Every one of those clients gets ECONNRESET after its request was sent, and the
// server never read any of them.
// Part 2, the race: clients that open a new connection per request (what `Connection: close` makes them do)
// against a server that closes its listener at a random moment with nothing blocking it. The window is only the
// time between the server's last accept() and its close(); at a few thousand connections per second it is hit.
// Clients that keep their connections (keep-alive, a proxy pool as large as its concurrency) open none at that
// moment and lose nothing: that, not anything the server can do, is what avoids it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

async function round(mode) {
	let read = 0;
	const server = http.createServer((req, res) => {
		read += 1;
		req.resume();
		req.on('end', () => res.end('ok'));
	});
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
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
		closeListener.call(server);
	} else {
		setTimeout(() => closeListener.call(server), 150 + Math.random() * 100);
	}
	const outcomes = await result;
	server.closeAllConnections();
	const counts = {};
	for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
	return { counts, read };
}

const burst = await round('burst');
console.log(
	`part 1: ${CLIENTS} POSTs sent while the server's loop was busy, listener closed right after: ${JSON.stringify(burst.counts)}; ` +
		`requests the server read: ${burst.read}`,
);
const resets = [];
let answered = 0;
for (let i = 0; i < Number(values.rounds); i++) {
	const { counts } = await round('loop');
	resets.push(counts['reset after sent'] ?? 0);
	answered += counts.answered ?? 0;
}
console.log(
	`part 2: ${CLIENTS} clients, a new connection per request, listener closed 150-250 ms in (${answered} requests answered in ${resets.length} rounds); ` +
		`requests reset after being sent, per close: ${resets.join(' ')} (total ${resets.reduce((a, b) => a + b, 0)})`,
);
