#!/usr/bin/env node
// `npm run demo`: the Express example under keep-alive load, stopped with SIGTERM in the middle.
//
// It starts examples/express/server.js in a child process, sends requests from 12 loops over 8 keep-alive
// connections (each request takes 20-200 ms in the handler) for 1.5 s, sends SIGTERM, and keeps the load on
// until the server refuses it. Then it prints the child's shutdown report and what happened to every request:
//   answered                  the whole response arrived
//   refused before sending    the connection was refused: nothing reached the server, safe to retry elsewhere
//   lost                      sent, then reset or hung up: the client cannot know whether it ran
// and the time from SIGTERM to the child's exit.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
// The load client the tests and the benchmark use: it classifies every request as above.
import { runLoad, summarize } from '../bench/http/load.js';

const server = fileURLToPath(new URL('./express/server.js', import.meta.url));
const child = spawn(process.execPath, [server], {
	env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DRAIN_DELAY: '0' },
	stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, at: performance.now() })));
const port = await new Promise((resolve, reject) => {
	child.stdout.setEncoding('utf8').on('data', (chunk) => {
		output += chunk;
		const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output);
		if (match) resolve(Number(match[1]));
	});
	exited.then(() => reject(new Error('the server exited before it listened')));
});
console.log(`server listening on port ${port} (pid ${child.pid}); load for 1.5 s, then SIGTERM`);

let sigtermAt = 0;
const { requests } = await runLoad({
	port,
	loops: 12,
	sockets: 8,
	minMs: 20,
	maxMs: 200,
	thinkMs: 20,
	warmupMs: 1500,
	// Bounded: the clients stop 3 s after the SIGTERM whatever happens, and the run never exceeds 15 s.
	afterTriggerMs: 3000,
	limitMs: 15_000,
	trigger: () => {
		sigtermAt = performance.now();
		child.kill('SIGTERM');
	},
	until: exited,
});
const exit = await exited;
const reportLine = output.split('\n').find((line) => line.startsWith('{"event":"shutdown"'));
const summary = summarize(requests);

console.log('\nshutdown report (printed by the child through onReport):');
console.log(reportLine ? JSON.stringify(JSON.parse(reportLine).report, null, 2) : '(none: the child did not print one)');
console.log('\nload:');
console.log(`  requests                 ${summary.total}`);
console.log(`  answered                 ${summary.answered}`);
console.log(`  refused before sending   ${summary.refused}`);
console.log(`  lost                     ${summary.lost}`);
console.log(`\nSIGTERM to exit: ${Math.round(exit.at - sigtermAt)} ms (exit ${exit.code ?? exit.signal})`);
process.exitCode = summary.lost === 0 && exit.code === 0 ? 0 : 1;
