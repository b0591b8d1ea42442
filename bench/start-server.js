// Starts a bench's server in a child process and hands back when it is ready: the child prints `ready <port>` once
// it listens. Used by the HTTP and realtime benches.
import { spawn } from 'node:child_process';

/**
 * `ready` resolves with the port, or rejects if the child exits first; `exited` with its code, signal and when
 * (performance.now()); `output()` is what it has printed on stdout so far.
 */
export function startServer(script, args, label) {
	const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
	let out = '';
	const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, at: performance.now() })));
	const ready = new Promise((resolve, reject) => {
		child.stdout.setEncoding('utf8').on('data', (chunk) => {
			out += chunk;
			const match = /^ready (\d+)$/m.exec(out);
			if (match) resolve(Number(match[1]));
		});
		exited.then(() => reject(new Error(`${label} exited before ready`)));
	});
	return { child, ready, exited, output: () => out };
}
