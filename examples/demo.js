#!/usr/bin/env node
// `npm run demo`: the same Express app twice, behind a simulated load balancer, stopped with SIGTERM under load.
//
//   graceful  examples/express/server.js  serve(app, { delay: 2000 }) and a health ticker answering /readyz
//   bare      examples/express/bare.js    process.on('SIGTERM', () => server.close())
//
// The load balancer checks /readyz every 500 ms and takes a server out of rotation after 2 failed checks (a
// Kubernetes readinessProbe with periodSeconds 0.5 and failureThreshold 2). While a server is in rotation, 8
// clients send it requests that take 50-150 ms, at a steady pace: 4 on fresh connections (new users), 4 on a
// pool of keep-alive connections (a proxy's pool). After 2 s both servers get SIGTERM. The clients stop when
// the load balancer takes their server out, as they would move to another replica. A bare TCP connect every
// 50 ms after the SIGTERM shows when each server stops accepting connections.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const CHECK_EVERY_MS = 500;
const FAILURES_TO_REMOVE = 2;
const LOAD_BEFORE_SIGTERM_MS = 2000;
const DELAY_MS = 2000;
const LIMIT_MS = 15_000;

function start(file, env) {
	const child = spawn(process.execPath, [fileURLToPath(new URL(file, import.meta.url))], {
		env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	let output = '';
	const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, at: performance.now() })));
	const port = new Promise((resolve, reject) => {
		child.stdout.setEncoding('utf8').on('data', (chunk) => {
			output += chunk;
			const match = /listening on http:\/\/[^\s]+:(\d+)/.exec(output);
			if (match) resolve(Number(match[1]));
		});
		exited.then(() => reject(new Error(`${file} exited before it listened`)));
	});
	return { child, exited, port, output: () => output };
}

/**
 * One request. `answered`: the whole response came. `refused`: it failed before its bytes were sent (the
 * connection was refused): nothing reached the server. `lost`: sent, then reset or hung up.
 */
function request(port, path, agent) {
	return new Promise((resolve) => {
		let sent = false;
		const req = http.get({ host: '127.0.0.1', port, path, agent, timeout: 10_000 }, (res) => {
			res.resume();
			res.on('end', () => resolve({ outcome: res.complete ? 'answered' : 'lost', status: res.statusCode }));
			res.on('error', () => resolve({ outcome: 'lost' }));
		});
		req.on('finish', () => (sent = true));
		req.on('timeout', () => req.destroy(new Error('no answer')));
		req.on('error', (error) => resolve({ outcome: sent ? 'lost' : 'refused', error: error.code ?? error.message }));
	});
}

/** A load balancer in front of one server: health checks, and the clients it sends while the server is in rotation. */
async function balance(label, server, sigtermSent) {
	const port = await server.port;
	const counts = { sent: 0, answered: 0, refused: 0, lost: 0, non2xx: 0, answeredAfterSigterm: 0 };
	const timeline = [];
	const since = () => Math.round(performance.now() - sigtermSent.at);
	let inRotation = true;
	let gone = false;
	server.exited.then(() => (gone = true));

	const checks = (async () => {
		let failures = 0;
		while (inRotation && !gone) {
			await sleep(CHECK_EVERY_MS);
			const check = await request(port, '/readyz', false);
			const ok = check.outcome === 'answered' && check.status === 200;
			failures = ok ? 0 : failures + 1;
			if (sigtermSent.at && (!ok || failures > 0)) {
				timeline.push([since(), `load balancer: /readyz ${check.status ?? check.error} (${failures} of ${FAILURES_TO_REMOVE} failed checks)`]);
			}
			if (failures >= FAILURES_TO_REMOVE) {
				inRotation = false;
				timeline.push([since(), 'load balancer: out of rotation, sends no new requests']);
			}
		}
	})();

	// When does the server stop accepting connections? A bare connect every 100 ms after SIGTERM.
	const accepting = (async () => {
		while (!sigtermSent.at) await sleep(20);
		let lastAccepted;
		while (!gone) {
			const refused = await new Promise((resolve) => {
				const socket = net.connect(port, '127.0.0.1', () => {
					socket.destroy();
					resolve(false);
				});
				socket.on('error', (error) => resolve(error.code === 'ECONNREFUSED'));
			});
			// Refused after the process had exited says nothing of when the server stopped accepting.
			if (refused && gone) break;
			if (refused) {
				timeline.push([since(), 'server: stops accepting connections (refused from now on)']);
				return;
			}
			lastAccepted = since();
			await sleep(50);
		}
		if (lastAccepted !== undefined) timeline.push([lastAccepted, 'server: still accepting connections (the last check before it exited)']);
	})();

	const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
	const client = async (agent) => {
		while (inRotation && !gone) {
			counts.sent += 1;
			const ms = 50 + Math.round(Math.random() * 100);
			const result = await request(port, `/slow?ms=${ms}`, agent);
			counts[result.outcome] += 1;
			if (result.outcome === 'answered' && sigtermSent.at) counts.answeredAfterSigterm += 1;
			if (result.outcome === 'answered' && result.status !== 200) counts.non2xx += 1;
			if (result.outcome !== 'answered' && sigtermSent.at && !timeline.some(([, text]) => text.startsWith('clients:'))) {
				timeline.push([since(), `clients: first request ${result.outcome === 'refused' ? 'refused' : 'lost'} (${result.error})`]);
			}
			await sleep(20 + Math.random() * 40);
		}
	};
	await Promise.all([checks, ...[false, false, false, false].map((agent) => client(agent)), ...[1, 2, 3, 4].map(() => client(keepAlive))]);
	await Promise.race([accepting, server.exited]);
	// A proxy keeps its pooled connections open until the server closes them or they time out.
	const limit = new AbortController();
	const exit = await Promise.race([server.exited, sleep(LIMIT_MS, undefined, { signal: limit.signal }).then(() => undefined, () => undefined)]);
	limit.abort();
	keepAlive.destroy();
	if (!exit) server.child.kill('SIGKILL');
	const final = exit ?? (await server.exited);
	// Its last probe may still be under way when the process exits (on a loaded machine, often): wait for its line.
	await accepting;
	timeline.push([Math.round(final.at - sigtermSent.at), `exited with ${final.code ?? final.signal}${exit ? '' : ` (killed: still running ${LIMIT_MS / 1000} s after SIGTERM)`}`]);
	return { label, counts, timeline, exit: final, output: server.output() };
}

const graceful = start('./express/server.js', { DRAIN_DELAY: String(DELAY_MS) });
const bare = start('./express/bare.js', {});
await Promise.all([graceful.port, bare.port]);
console.log(`Two copies of one Express app, each behind a simulated load balancer that checks /readyz every ${CHECK_EVERY_MS} ms
and takes it out after ${FAILURES_TO_REMOVE} failed checks; 8 clients each (half on keep-alive connections); SIGTERM after ${LOAD_BEFORE_SIGTERM_MS / 1000} s.
  graceful-proc        examples/express/server.js: serve(app, { delay: ${DELAY_MS} }), a health ticker on /readyz
  bare server.close()  examples/express/bare.js:   process.on('SIGTERM', () => server.close())
`);

const sigtermSent = { at: 0 };
const runs = Promise.all([balance('graceful-proc', graceful, sigtermSent), balance('bare server.close()', bare, sigtermSent)]);
await sleep(LOAD_BEFORE_SIGTERM_MS);
sigtermSent.at = performance.now();
graceful.child.kill('SIGTERM');
bare.child.kill('SIGTERM');
const results = await runs;

for (const { label, timeline } of results) {
	console.log(`${label}, after SIGTERM:`);
	for (const [ms, text] of timeline.sort((a, b) => a[0] - b[0])) console.log(`  ${String(ms).padStart(6)} ms  ${text}`);
	console.log();
}

const row = (name, pick) => console.log(`  ${name.padEnd(24)}${results.map((r) => String(pick(r)).padStart(22)).join('')}`);
console.log(`  ${''.padEnd(24)}${results.map((r) => r.label.padStart(22)).join('')}`);
row('requests sent', (r) => r.counts.sent);
row('answered', (r) => r.counts.answered);
row('  of them after SIGTERM', (r) => r.counts.answeredAfterSigterm);
row('refused before sending', (r) => r.counts.refused);
row('lost', (r) => r.counts.lost);
row('SIGTERM to exit', (r) => `${((r.exit.at - sigtermSent.at) / 1000).toFixed(2)} s`);
row('exit code', (r) => r.exit.code ?? r.exit.signal);

console.log(`
  answered                the whole response arrived.
  refused before sending  the connection was refused (ECONNREFUSED): the server had already stopped listening
                          while the load balancer still sent it traffic. The request never reached the server,
                          so retrying it elsewhere is safe; but without a retry the user gets an error (behind
                          HAProxy or nginx, a 502/503). graceful-proc keeps listening for \`delay\` ms while
                          /readyz says 503, so the load balancer has moved the traffic away before that.
  lost                    sent, then the connection was reset or hung up: the client cannot know whether it ran.
  SIGTERM to exit         server.close() waits until every keep-alive connection has gone: here until Node's
                          keepAliveTimeout (5 s) closed the idle ones; behind a proxy that keeps its pool busy,
                          until the orchestrator's SIGKILL. graceful-proc closes them itself once it has drained.
`);

const reportLine = graceful
	.output()
	.split('\n')
	.find((line) => line.startsWith('{"event":"shutdown"'));
console.log("graceful-proc's shutdown report (the server prints it through onReport):");
console.log(reportLine ? JSON.stringify(JSON.parse(reportLine).report, null, 2) : '(none: the server did not print one)');

const [good] = results;
process.exitCode = good.counts.lost === 0 && good.counts.refused === 0 && good.exit.code === 0 ? 0 : 1;
