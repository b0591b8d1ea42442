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
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { phaseCounter, runRollDriver, serviceArgsOf, startLoad } from './driver.js';
import {
	defaultHaproxySettings,
	failedRequestsInLog,
	findHaproxy,
	haproxyConfig,
	haproxyVersion,
	INSTALL_HINT,
	serverStats,
} from './haproxy.js';
import { exitOf, freePort, replaceReplica, SetupError, startReplica, stopReplicas, track, variantDir } from './processes.js';

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
	const dir = await variantDir(`graceful-proc-roll-${variant}-`, options.keep);
	const serviceArgs = serviceArgsOf(options);
	const startedAt = Date.now();
	const phases = phaseCounter();

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
			bin: options.bin,
			dir,
			servers: first.map(({ name, port }) => ({ name, port })),
			settings: defaultHaproxySettings,
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
		phases.phase = 'steady';
		log(`${variant}: HAProxy on 127.0.0.1:${haproxy.frontendPort}, replicas ${first.map((r) => `${r.name}:${r.port}`).join(' ')}`);

		// The load: keep-alive connections through HAProxy, counted per phase of the roll.
		load = startLoad(`http://127.0.0.1:${haproxy.frontendPort}/`, options, phases);

		// Measure some steady traffic (and let every connection pool fill) before the first restart.
		await sleep(options.warmup);

		// The roll.
		const restarts = [];
		const rollStartedAt = Date.now();
		for (let i = 0; i < options.restarts; i++) {
			const name = names[i % names.length];
			const old = replicas.get(name);
			const transitionsBefore = watcher.transitions.length;
			const { fresh, exit, sigtermAt: sigterm, exitedAt, readyAt } = await replaceReplica(old, {
				generation: i + 1,
				variant,
				serviceArgs,
				dir,
				grace: options.grace,
				phases,
			});
			replicas.set(name, fresh);
			const upAt = await watcher.waitFor(name, 'UP', 15_000);
			// When HAProxy took the old one out, if it noticed at all (a bare close() that exits at once and
			// comes back quickly can slip between two checks).
			const down = watcher.transitions.slice(transitionsBefore).find((t) => t.server === name && t.status === 'DOWN');
			const downAt = down === undefined ? undefined : startedAt + down.t;
			phases.phase = 'steady';
			const report = await old.report;
			restarts.push({
				server: name,
				exit,
				shutdown: report ? report.outcome : undefined,
				haproxyDownMs: downAt === undefined ? undefined : downAt - sigterm,
				exitMs: exitedAt - sigterm,
				readyMs: readyAt - exitedAt,
				upMs: upAt - readyAt,
			});
			log(
				`${variant}: restarted ${name}: exit ${exit} after ${exitedAt - sigterm} ms` +
					(downAt === undefined ? '' : ` (HAProxy saw it DOWN after ${downAt - sigterm} ms)`) +
					`, new one ready in ${readyAt - exitedAt} ms, UP in HAProxy ${upAt - readyAt} ms later`,
			);
		}
		const rollMs = Date.now() - rollStartedAt;

		// Keep the load on until `duration` has passed, and for a moment after the last restart.
		const measured = await load.finish();

		result = {
			variant,
			...measured,
			rollMs,
			restarts,
			byPhase: phases.byPhase,
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
		await stopReplicas(replicas, { grace: options.grace, dir, keep: options.keep });
	}
}

// ---------------------------------------------------------------------------------------------------------
// Command line

process.exitCode = await runRollDriver({
	usage:
		'node examples/rolling/roll.js [--variant graceful|baseline|both] [--duration 20] [--replicas 3] ' +
		'[--restarts N] [--rate req/s] [--connections 8] [--warmup ms] [--tail ms] [--delay ms] ' +
		'[--time-to-force-quit ms] [--grace ms] [--json] [--keep] [-- service.js flags]',
	defaults: { duration: 20, connections: 8 },
	proxy: { name: 'haproxy', find: findHaproxy, installHint: INSTALL_HINT, version: haproxyVersion, settings: () => defaultHaproxySettings },
	header: (options) =>
		`${options.connections} keep-alive connections ${options.rate > 0 ? `at ${options.rate} req/s` : 'back to back'} for at least ${options.duration} s`,
	runVariant,
	restartLine: (s) =>
		`${s.server}: exit ${s.exit}${s.shutdown ? ` (${s.shutdown})` : ''} ${s.exitMs} ms after SIGTERM` +
		(s.haproxyDownMs === undefined ? '' : `, HAProxy DOWN after ${s.haproxyDownMs} ms`) +
		`; next one ready ${s.readyMs} ms later, UP in HAProxy after ${s.upMs} ms more`,
	logLines: (r) => {
		const logged = Object.entries(r.haproxyFailedRequests ?? {});
		return logged.length > 0 ? [`HAProxy log (server, status, termination state): ${logged.map(([k, n]) => `${k} × ${n}`).join(', ')}`] : [];
	},
});
