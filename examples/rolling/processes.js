// What both roll drivers (HAProxy: roll.js, nginx: roll-nginx.js) need of processes: replicas of service.js
// started and awaited by their `ready <port>` line, free loopback ports, a folder per variant, and every child
// and temporary folder gone when the driver exits, however it exits.
import { spawn } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const serviceFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'service.js');

/** A setup that failed (a tool missing, a replica that did not start): exit code 2, not a measured loss. */
export class SetupError extends Error {
	name = 'SetupError';
}

const liveChildren = new Set();
/** Folders removed when the driver exits. */
export const tempDirs = new Set();

/** Kills `child` when the driver exits; `group`: the whole process group (nginx's master and its workers). */
export function track(child, { group = false } = {}) {
	const entry = { child, group };
	liveChildren.add(entry);
	child.once('exit', () => liveChildren.delete(entry));
	return child;
}

function killEverything() {
	for (const { child, group } of liveChildren) {
		try {
			// SIGKILL to nginx's master alone would orphan its worker, which shares the master's process group.
			if (group) process.kill(-child.pid, 'SIGKILL');
			else child.kill('SIGKILL');
		} catch {}
	}
	for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

/** Called once by a driver's main: on exit, Ctrl+C or a stop signal, everything it started goes. */
export function cleanUpOnExit() {
	process.on('exit', killEverything);
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
		process.on(signal, () => {
			killEverything();
			process.exit(130);
		});
	}
}

/** [code, signal] once the child has exited; the listener is attached at spawn, so no exit is missed. */
export function exitOf(child) {
	return new Promise((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
}

export function freePort() {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

/**
 * Starts one replica of service.js and resolves once it has written `ready <port>`; rejects if it exits first.
 * What it says later arrives as promises: its `report`, its connection `stats`, what the baseline's close()
 * found (`closing`: requests in flight and open connections), and when it served its `firstRequest` (the sign
 * that the proxy sends to it again).
 * @returns {Promise<{ name: string, port: number, child: import('node:child_process').ChildProcess,
 *   exited: Promise<[number | null, string | null]>, report: Promise<object | undefined>,
 *   stats: Promise<object | undefined>, closing: Promise<{ inFlight: number, connections: number } | undefined>,
 *   firstRequest: Promise<number>, stderr: () => string }>}
 */
export function startReplica({ name, port, generation, variant, serviceArgs, dir }) {
	const child = track(
		spawn(process.execPath, [serviceFile, '--name', name, '--port', String(port), '--variant', variant, ...serviceArgs], {
			stdio: ['ignore', 'pipe', 'pipe'],
		}),
	);
	const exited = exitOf(child);
	const logFile = createWriteStream(path.join(dir, `${name}.${generation}.log`));
	let stderrTail = '';
	child.stderr.on('data', (chunk) => {
		logFile.write(chunk);
		stderrTail = (stderrTail + chunk.toString()).slice(-4000);
	});
	child.once('close', () => logFile.end());
	let resolveReport;
	const report = new Promise((resolve) => (resolveReport = resolve));
	let resolveStats;
	const stats = new Promise((resolve) => (resolveStats = resolve));
	let resolveClosing;
	const closing = new Promise((resolve) => (resolveClosing = resolve));
	let resolveFirst;
	const firstRequest = new Promise((resolve) => (resolveFirst = resolve));
	return new Promise((resolve, reject) => {
		const lines = createInterface({ input: child.stdout });
		lines.on('line', (line) => {
			if (line.startsWith('ready ')) resolve({ name, port: Number(line.slice(6)), child, exited, report, stats, closing, firstRequest, stderr: () => stderrTail });
			else if (line === 'first-request') resolveFirst(Date.now());
			else if (line.startsWith('report ')) resolveReport(JSON.parse(line.slice(7)));
			else if (line.startsWith('stats ')) resolveStats(JSON.parse(line.slice(6)));
			else if (line.startsWith('closing ')) resolveClosing(JSON.parse(line.slice(8)));
			else if (line.startsWith('listen-error ')) stderrTail += `\n${line}`;
		});
		lines.once('close', () => {
			resolveReport(undefined);
			resolveStats(undefined);
			resolveClosing(undefined);
		});
		exited.then(([code, signal]) => {
			const taken = stderrTail.includes('EADDRINUSE') ? ` — port ${port} was taken while it restarted; run again` : '';
			reject(new SetupError(`replica ${name} exited (${code ?? signal}) before it was ready${taken}\n${stderrTail.trim()}`));
		});
	});
}

/**
 * The end of a variant: the replicas still running get a normal stop, and whatever is left after `grace` ms is
 * killed; then the variant's folder goes, unless `keep`.
 */
export async function stopReplicas(replicas, { grace, dir, keep }) {
	await Promise.all(
		[...replicas.values()].map(async ({ child, exited }) => {
			if (child.exitCode !== null || child.signalCode !== null) return;
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), grace);
			await exited;
			clearTimeout(timer);
		}),
	);
	if (!keep) {
		await rm(dir, { recursive: true, force: true });
		tempDirs.delete(dir);
	}
}

/** A temporary folder for one variant's configs and logs, removed when the driver exits unless `keep`. */
export async function variantDir(prefix, keep) {
	const dir = await mkdtemp(path.join(tmpdir(), prefix));
	if (!keep) tempDirs.add(dir);
	return dir;
}

/**
 * One restart's process part: SIGTERM to `old` (killed if it outstays `grace`, like Kubernetes'
 * terminationGracePeriodSeconds), then the next generation on the same port, awaited by its `ready` line. The
 * phases of `phases` follow it (`<name> draining`, `<name> down`, `<name> starting`); the driver then waits for
 * its proxy to send to the new one.
 */
export async function replaceReplica(old, { generation, variant, serviceArgs, dir, grace, phases }) {
	const { name } = old;
	const sigtermAt = Date.now();
	phases.phase = `${name} draining`;
	old.child.kill('SIGTERM');
	const killTimer = setTimeout(() => old.child.kill('SIGKILL'), grace);
	const [code, signal] = await old.exited;
	clearTimeout(killTimer);
	const exitedAt = Date.now();
	phases.phase = `${name} down`;
	const fresh = await startReplica({ name, port: old.port, generation, variant, serviceArgs, dir });
	const readyAt = Date.now();
	phases.phase = `${name} starting`;
	return { fresh, exit: signal ?? code, sigtermAt, exitedAt, readyAt };
}
