#!/usr/bin/env node
// A zero-downtime rolling restart, measured: HAProxy in front of three replicas of service.js, a steady
// keep-alive load through HAProxy, and the replicas restarted one at a time while the load runs.
//
//   npm run build
//   node examples/rolling/roll.js                      # both variants, 20 s of load each
//   node examples/rolling/roll.js --variant graceful --duration 30 --restarts 6
//   node examples/rolling/roll.js --variant graceful --delay 100   # see what a too-short delay does
//   node examples/rolling/roll.js --variant graceful -- --time-to-wrap-up 1000   # arguments for service.js
//   node examples/rolling/roll.js --json               # one JSON object on stdout (progress on stderr)
//
// Needs HAProxy (Debian: `apt-get update && apt-get install -y haproxy`). The driver starts HAProxy itself in
// the foreground (-db) on free loopback ports with a config in a temporary directory, and kills it, and every
// replica, before it exits, also on Ctrl+C.
//
// One restart: SIGTERM the replica, wait for its 'exit', start the next one on the same port, wait for its
// `ready <port>` line, wait until HAProxy's stats socket shows the server UP, go on with the next replica.
// There is no fixed sleep anywhere in that sequence.
//
// Exit code: 0 when the graceful variant (if it ran) lost nothing, 1 when it lost requests, 2 when the setup
// failed (HAProxy missing, package not built, a replica that did not start).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import {
	defaultHaproxySettings,
	failedRequestsInLog,
	findHaproxy,
	haproxyConfig,
	haproxyVersion,
	INSTALL_HINT,
	serverStats,
} from './haproxy.js';
import { cleanUpOnExit, exitOf, freePort, SetupError, startReplica, tempDirs, track } from './processes.js';

// ---------------------------------------------------------------------------------------------------------
// HAProxy

/**
 * Polls `show stat` on the stats socket, remembers every server status change with its time, and lets the
 * driver wait for a status.
 */
class StatsWatcher {
	#socket;
	#waiters = new Set();
	#stopped = false;
	#done;
	status = new Map();
	transitions = [];

	constructor(socket, startedAt) {
		this.#socket = socket;
		this.startedAt = startedAt;
	}

	start() {
		this.#done = this.#loop();
	}

	async #loop() {
		while (!this.#stopped) {
			let stats;
			try {
				stats = await serverStats(this.#socket);
			} catch (error) {
				if (this.#stopped) break;
				stats = undefined;
				this.lastError = error;
			}
			if (stats) {
				for (const [name, row] of stats) {
					if (this.status.get(name) !== row.status) {
						this.status.set(name, row.status);
						this.transitions.push({ t: Date.now() - this.startedAt, server: name, status: row.status });
					}
				}
				for (const waiter of this.#waiters) waiter();
			}
			// Polling HAProxy's own view is the point: this is how long it takes HAProxy to see the change.
			await sleep(25);
		}
	}

	/** Resolves once `server`'s status is exactly `wanted` (HAProxy writes `UP 1/2` while going up). */
	waitFor(server, wanted, timeoutMs) {
		return new Promise((resolve, reject) => {
			const check = () => {
				if (this.status.get(server) === wanted) {
					clearTimeout(timer);
					this.#waiters.delete(check);
					resolve(Date.now());
				}
			};
			const timer = setTimeout(() => {
				this.#waiters.delete(check);
				reject(
					new SetupError(
						`HAProxy did not report ${server} ${wanted} within ${timeoutMs} ms (last: ${this.status.get(server)}` +
							`${this.lastError ? `, ${this.lastError.message}` : ''})`,
					),
				);
			}, timeoutMs);
			this.#waiters.add(check);
			check();
		});
	}

	async stop() {
		this.#stopped = true;
		await this.#done;
	}
}

async function startHaproxy({ bin, dir, servers, settings }) {
	const frontendPort = await freePort();
	const statsSocket = path.join(dir, 'haproxy.sock');
	const configFile = path.join(dir, 'haproxy.cfg');
	await writeFile(configFile, haproxyConfig({ frontendPort, servers, statsSocket }, settings));
	const logPath = path.join(dir, 'haproxy.log');
	const logFile = createWriteStream(logPath);
	// -db: stay in the foreground, no daemon, so it is our child and dies with us.
	const child = track(spawn(bin, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
	const exited = exitOf(child);
	child.stdout.pipe(logFile, { end: false });
	child.stderr.pipe(logFile, { end: false });
	child.once('close', () => logFile.end());
	return { child, exited, frontendPort, statsSocket, configFile, logPath };
}

// ---------------------------------------------------------------------------------------------------------
// One variant

async function runVariant(variant, options, log) {
	const dir = await mkdtemp(path.join(tmpdir(), `graceful-proc-roll-${variant}-`));
	if (!options.keep) tempDirs.add(dir);
	const serviceArgs = [...options.serviceArgs];
	if (options.delay !== undefined) serviceArgs.push('--delay', String(options.delay));
	if (options.timeToForceQuit !== undefined) serviceArgs.push('--time-to-force-quit', String(options.timeToForceQuit));
	const startedAt = Date.now();
	// Every response is counted under the phase of the roll it arrived in, so a failure says when it happened
	// and a clean run shows that traffic really flowed while each replica was draining.
	let phase = 'startup';
	const byPhase = {};
	const mark = (next) => {
		phase = next;
	};
	const count = (what) => {
		byPhase[phase] ??= {};
		byPhase[phase][what] = (byPhase[phase][what] ?? 0) + 1;
	};

	const names = Array.from({ length: options.replicas }, (_, i) => `s${i + 1}`);
	let haproxy;
	let watcher;
	let load;
	let result;
	const replicas = new Map();
	try {
		// Generation 0 listens on port 0; every later generation of a replica takes over its port, as a
		// restarted process behind a static load-balancer config does.
		const first = await Promise.all(
			names.map((name) => startReplica({ name, port: 0, generation: 0, variant, serviceArgs, dir })),
		);
		for (const replica of first) replicas.set(replica.name, replica);

		haproxy = await startHaproxy({
			bin: options.haproxy,
			dir,
			servers: first.map(({ name, port }) => ({ name, port })),
			settings: options.haproxySettings,
		});
		haproxy.exited.then(([code, signal]) => {
			if (!haproxy.stopping) log(`HAProxy exited unexpectedly (${code ?? signal}); see ${haproxy.logPath}`);
		});
		watcher = new StatsWatcher(haproxy.statsSocket, startedAt);
		// The stats socket appears once HAProxy has parsed its config and bound its ports.
		const socketDeadline = Date.now() + 10_000;
		while (!existsSync(haproxy.statsSocket)) {
			if (haproxy.child.exitCode !== null || Date.now() > socketDeadline) {
				const text = await readFile(haproxy.logPath, 'utf8').catch(() => '');
				throw new SetupError(`HAProxy did not start:\n${text.trim()}`);
			}
			await sleep(20);
		}
		watcher.start();
		await Promise.all(names.map((name) => watcher.waitFor(name, 'UP', 10_000)));
		mark('steady');
		log(`${variant}: HAProxy on 127.0.0.1:${haproxy.frontendPort}, replicas ${first.map((r) => `${r.name}:${r.port}`).join(' ')}`);

		// The load: keep-alive connections through HAProxy, counted per phase of the roll.
		const loadStartedAt = Date.now();
		load = autocannon({
			url: `http://127.0.0.1:${haproxy.frontendPort}/`,
			connections: options.connections,
			// Without a rate, each connection sends its next request as soon as the last answer came: a closed
			// loop that never pauses. autocannon's rate limit sends each second's quota in a burst and then
			// waits, which leaves quiet gaps in which a restart could hide.
			...(options.rate > 0 ? { overallRate: options.rate } : {}),
			pipelining: 1,
			duration: 3600, // stopped by hand, once the roll is over and `duration` has passed
			timeout: 10,
		});
		const loadResult = new Promise((resolve, reject) => {
			load.once('done', resolve);
			load.once('error', reject);
		});
		load.on('response', (client, statusCode) => count(String(statusCode)));
		load.on('reqError', (error) => count(error.code ?? error.message));

		// Measure some steady traffic (and let every connection pool fill) before the first restart.
		await sleep(options.warmup);

		// The roll.
		const restarts = [];
		const rollStartedAt = Date.now();
		for (let i = 0; i < options.restarts; i++) {
			const name = names[i % names.length];
			const old = replicas.get(name);
			const sigterm = Date.now();
			mark(`${name} draining`);
			old.child.kill('SIGTERM');
			// Like Kubernetes' terminationGracePeriodSeconds: a replica that outstays it is killed.
			const killTimer = setTimeout(() => old.child.kill('SIGKILL'), options.grace);
			const transitionsBefore = watcher.transitions.length;
			const [code, signal] = await old.exited;
			clearTimeout(killTimer);
			const exitedAt = Date.now();
			mark(`${name} down`);
			const fresh = await startReplica({ name, port: old.port, generation: i + 1, variant, serviceArgs, dir });
			replicas.set(name, fresh);
			const readyAt = Date.now();
			mark(`${name} starting`);
			const upAt = await watcher.waitFor(name, 'UP', 15_000);
			// When HAProxy took the old one out, if it noticed at all (a bare close() that exits at once and
			// comes back quickly can slip between two checks).
			const down = watcher.transitions.slice(transitionsBefore).find((t) => t.server === name && t.status === 'DOWN');
			const downAt = down === undefined ? undefined : startedAt + down.t;
			mark('steady');
			const report = await old.report;
			restarts.push({
				server: name,
				exit: signal ?? code,
				shutdown: report ? report.outcome : undefined,
				haproxyDownMs: downAt === undefined ? undefined : downAt - sigterm,
				exitMs: exitedAt - sigterm,
				readyMs: readyAt - exitedAt,
				upMs: upAt - readyAt,
			});
			log(
				`${variant}: restarted ${name}: exit ${signal ?? code} after ${exitedAt - sigterm} ms` +
					(downAt === undefined ? '' : ` (HAProxy saw it DOWN after ${downAt - sigterm} ms)`) +
					`, new one ready in ${readyAt - exitedAt} ms, UP in HAProxy ${upAt - readyAt} ms later`,
			);
		}
		const rollMs = Date.now() - rollStartedAt;

		// Keep the load on until `duration` has passed, and for a moment after the last restart.
		const loadEnd = Math.max(loadStartedAt + options.duration * 1000, Date.now() + options.tail);
		await sleep(Math.max(0, loadEnd - Date.now()));
		load.stop();
		const stats = await loadResult;
		load = undefined;

		result = {
			variant,
			requestsSent: stats.requests.sent,
			responses: stats['1xx'] + stats['2xx'] + stats['3xx'] + stats['4xx'] + stats['5xx'],
			'2xx': stats['2xx'],
			non2xx: stats.non2xx,
			errors: stats.errors,
			timeouts: stats.timeouts,
			statusCodes: Object.fromEntries(Object.entries(stats.statusCodeStats).map(([code, { count }]) => [code, Number(count)])),
			loadSeconds: stats.duration,
			rollMs,
			restarts,
			byPhase,
			haproxyTransitions: watcher.transitions,
			haproxyFailedRequests: {}, // filled in below, once HAProxy has exited and flushed its log
			haproxyPid: haproxy.child.pid,
			replicaPids: [...replicas.values()].map((replica) => replica.child.pid),
			dir: options.keep ? dir : undefined,
		};
		return result;
	} finally {
		load?.stop();
		await watcher?.stop();
		// HAProxy first: it holds keep-alive connections that would keep a bare close() waiting. Then the
		// replicas still running get a normal stop; whatever is left after the grace period is killed.
		if (haproxy) {
			haproxy.stopping = true;
			if (haproxy.child.exitCode === null && haproxy.child.signalCode === null) haproxy.child.kill('SIGTERM');
			const timer = setTimeout(() => haproxy.child.kill('SIGKILL'), 5000);
			await haproxy.exited;
			clearTimeout(timer);
			if (result) result.haproxyFailedRequests = failedRequestsInLog(await readFile(haproxy.logPath, 'utf8').catch(() => ''));
		}
		await Promise.all(
			[...replicas.values()].map(async ({ child, exited }) => {
				if (child.exitCode !== null || child.signalCode !== null) return;
				child.kill('SIGTERM');
				const timer = setTimeout(() => child.kill('SIGKILL'), options.grace);
				await exited;
				clearTimeout(timer);
			}),
		);
		if (!options.keep) {
			await rm(dir, { recursive: true, force: true });
			tempDirs.delete(dir);
		}
	}
}

// ---------------------------------------------------------------------------------------------------------
// Command line

function parseOptions(argv) {
	const { values, positionals } = parseArgs({
		args: argv,
		// Everything after `--` goes to service.js unchanged: `-- --keep-alive-timeout 5000`.
		allowPositionals: true,
		options: {
			variant: { type: 'string', default: 'both' },
			duration: { type: 'string', default: '20' },
			replicas: { type: 'string', default: '3' },
			restarts: { type: 'string' },
			rate: { type: 'string', default: '0' },
			connections: { type: 'string', default: '8' },
			warmup: { type: 'string', default: '1000' },
			tail: { type: 'string', default: '1000' },
			grace: { type: 'string', default: '10000' },
			delay: { type: 'string' },
			'time-to-force-quit': { type: 'string' },
			json: { type: 'boolean', default: false },
			keep: { type: 'boolean', default: false },
			help: { type: 'boolean', short: 'h', default: false },
		},
	});
	if (values.help) return { help: true };
	const number = (name, value, min) => {
		const n = Number(value);
		if (!Number.isFinite(n) || n < min) throw new SetupError(`Expected --${name} to be a number >= ${min}, got ${value}`);
		return n;
	};
	const variants = values.variant === 'both' ? ['graceful', 'baseline'] : [values.variant];
	for (const variant of variants) {
		if (variant !== 'graceful' && variant !== 'baseline') {
			throw new SetupError(`Expected --variant to be graceful, baseline or both, got ${values.variant}`);
		}
	}
	const replicas = number('replicas', values.replicas, 1);
	return {
		variants,
		duration: number('duration', values.duration, 0),
		replicas,
		restarts: values.restarts === undefined ? replicas : number('restarts', values.restarts, 0),
		rate: number('rate', values.rate, 0),
		connections: number('connections', values.connections, 1),
		warmup: number('warmup', values.warmup, 0),
		tail: number('tail', values.tail, 0),
		grace: number('grace', values.grace, 0),
		delay: values.delay === undefined ? undefined : number('delay', values.delay, 0),
		timeToForceQuit:
			values['time-to-force-quit'] === undefined ? undefined : number('time-to-force-quit', values['time-to-force-quit'], 0),
		serviceArgs: positionals,
		json: values.json,
		keep: values.keep,
	};
}

function table(results) {
	const rows = [
		'| variant | requests sent | 2xx | non-2xx | errors | roll duration |',
		'|---|---:|---:|---:|---:|---:|',
		...results.map(
			(r) =>
				`| ${r.variant} | ${r.requestsSent} | ${r['2xx']} | ${r.non2xx} | ${r.errors} | ${(r.rollMs / 1000).toFixed(1)} s |`,
		),
	];
	return rows.join('\n');
}

function details(r) {
	const lines = [`### ${r.variant}`, ''];
	for (const s of r.restarts) {
		lines.push(
			`- ${s.server}: exit ${s.exit}${s.shutdown ? ` (${s.shutdown})` : ''} ${s.exitMs} ms after SIGTERM` +
				(s.haproxyDownMs === undefined ? '' : `, HAProxy DOWN after ${s.haproxyDownMs} ms`) +
				`; next one ready ${s.readyMs} ms later, UP in HAProxy after ${s.upMs} ms more`,
		);
	}
	for (const [phase, counts] of Object.entries(r.byPhase)) {
		lines.push(`- during "${phase}": ${Object.entries(counts).map(([what, n]) => `${what} × ${n}`).join(', ')}`);
	}
	const logged = Object.entries(r.haproxyFailedRequests ?? {});
	if (logged.length > 0) {
		lines.push(`- HAProxy log (server, status, termination state): ${logged.map(([k, n]) => `${k} × ${n}`).join(', ')}`);
	}
	lines.push(`- status codes: ${JSON.stringify(r.statusCodes)}, load ran ${r.loadSeconds} s`);
	return lines.join('\n');
}

async function main() {
	cleanUpOnExit();
	let options;
	try {
		options = parseOptions(process.argv.slice(2));
	} catch (error) {
		console.error(error.message);
		return 2;
	}
	if (options.help) {
		console.log(
			'node examples/rolling/roll.js [--variant graceful|baseline|both] [--duration 20] [--replicas 3] ' +
				'[--restarts N] [--rate req/s] [--connections 8] [--warmup ms] [--tail ms] [--delay ms] ' +
				'[--time-to-force-quit ms] [--grace ms] [--json] [--keep] [-- service.js flags]',
		);
		return 0;
	}
	const log = options.json ? (line) => process.stderr.write(`${line}\n`) : (line) => process.stdout.write(`${line}\n`);

	const haproxy = findHaproxy();
	if (!haproxy) {
		console.error(INSTALL_HINT);
		return 2;
	}
	if (options.variants.includes('graceful')) {
		try {
			for (const entry of ['graceful-proc', 'graceful-proc/http', 'graceful-proc/health']) {
				if (!existsSync(fileURLToPath(import.meta.resolve(entry)))) throw new Error(entry);
			}
		} catch {
			console.error('graceful-proc is not built: run `npm run build` first.');
			return 2;
		}
	}
	options.haproxy = haproxy;
	options.haproxySettings = defaultHaproxySettings;

	const version = haproxyVersion(haproxy);
	log(
		`${version}, Node ${process.version}; ${options.replicas} replicas, ${options.restarts} restarts one at a time, ` +
			`${options.connections} keep-alive connections ${options.rate > 0 ? `at ${options.rate} req/s` : 'back to back'} for at least ${options.duration} s`,
	);
	const results = [];
	try {
		for (const variant of options.variants) {
			results.push(await runVariant(variant, options, log));
		}
	} catch (error) {
		console.error(error instanceof SetupError ? `setup failed: ${error.message}` : error);
		return 2;
	}

	const summary = {
		haproxy: version,
		node: process.version,
		settings: {
			replicas: options.replicas,
			restarts: options.restarts,
			connections: options.connections,
			rate: options.rate,
			duration: options.duration,
			haproxy: options.haproxySettings,
		},
		results,
	};
	if (options.json) {
		process.stdout.write(`${JSON.stringify(summary)}\n`);
	} else {
		log('');
		log(table(results));
		for (const result of results) log(`\n${details(result)}`);
	}
	const graceful = results.find((r) => r.variant === 'graceful');
	return graceful && (graceful.non2xx > 0 || graceful.errors > 0) ? 1 : 0;
}

process.exitCode = await main();
