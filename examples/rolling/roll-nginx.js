#!/usr/bin/env node
// A zero-downtime rolling restart behind nginx, measured: nginx (open source, no active health checks) in front
// of three replicas of service.js with an upstream keep-alive pool, keep-alive clients sending POSTs through it,
// and the replicas restarted one at a time while the load runs.
//
//   npm run build
//   node examples/rolling/roll-nginx.js                  # both variants, 10 s of load each
//   node examples/rolling/roll-nginx.js --variant graceful --duration 30 --restarts 6
//   node examples/rolling/roll-nginx.js --max-fails 0 --keepalive 32   # nginx settings, see --help
//   node examples/rolling/roll-nginx.js --json           # one JSON object on stdout (progress on stderr)
//
// Needs nginx (Debian: `apt-get update && apt-get install -y nginx`). The driver runs it in the foreground as
// its own child (`daemon off`, its own process group), with `-p` and `-e` pointing into a temporary directory
// that also holds the config, the temp dirs, the pid file and the logs, listening on 127.0.0.1 only; nginx and
// every replica are stopped when the driver ends, also on Ctrl+C.
//
// nginx does not check /readyz: it learns that a replica is gone only when a connection to it fails. So one
// restart here is: SIGTERM the replica, wait for its exit, start the next one on the same port, wait for its
// `ready <port>` line, then for its `first-request` line (nginx sends to it again), next replica. No fixed sleep.
//
// Exit code: 0 when the graceful variant (if it ran) lost nothing, 1 when it lost requests, 2 when the setup
// failed (nginx missing, package not built, a replica that did not start).
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { phaseCounter, runRollDriver, serviceArgsOf, startLoad } from './driver.js';
import { defaultNginxSettings, findNginx, NGINX_INSTALL_HINT, nginxConfig, nginxVersion, upstreamErrorsInLog } from './nginx.js';
import { exitOf, freePort, replaceReplica, SetupError, startReplica, stopReplicas, track, variantDir } from './processes.js';

/** Resolves once something accepts connections on `port`. */
async function waitForPort(port, timeoutMs, isDead) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const open = await new Promise((resolve) => {
			const socket = net.connect(port, '127.0.0.1');
			socket.once('connect', () => {
				socket.destroy();
				resolve(true);
			});
			socket.once('error', () => resolve(false));
		});
		if (open) return;
		if (isDead() || Date.now() > deadline) throw new SetupError(`nothing listens on 127.0.0.1:${port}`);
		await sleep(20);
	}
}

// ---------------------------------------------------------------------------------------------------------
// nginx

async function startNginx({ bin, dir, servers, settings }) {
	const frontendPort = await freePort();
	const configFile = path.join(dir, 'nginx.conf');
	for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) await mkdir(path.join(dir, sub), { recursive: true });
	await writeFile(configFile, nginxConfig({ dir, frontendPort, servers }, settings));
	const errorLog = path.join(dir, 'error.log');
	const output = createWriteStream(path.join(dir, 'nginx.out'));
	// -p: the prefix for every relative path; -e: the error log before the config is read (otherwise nginx
	// opens its compiled-in /var/log/nginx/error.log first). detached: a process group of its own, see above.
	const child = track(spawn(bin, ['-p', `${dir}/`, '-e', errorLog, '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'], detached: true }), {
		group: true,
	});
	const exited = exitOf(child);
	child.stdout.pipe(output, { end: false });
	child.stderr.pipe(output, { end: false });
	child.once('close', () => output.end());
	try {
		await waitForPort(frontendPort, 10_000, () => child.exitCode !== null);
	} catch {
		const text = await readFile(errorLog, 'utf8').catch(() => '');
		throw new SetupError(`nginx did not start:\n${text.trim()}`);
	}
	return { child, exited, frontendPort, errorLog, failedLog: path.join(dir, 'failed.log') };
}

async function stopNginx(nginx) {
	if (nginx.child.exitCode !== null || nginx.child.signalCode !== null) return;
	// SIGQUIT: graceful, like `nginx -s quit`; it lets requests in flight finish.
	nginx.child.kill('SIGQUIT');
	const timer = setTimeout(() => {
		try {
			process.kill(-nginx.child.pid, 'SIGKILL');
		} catch {}
	}, 5000);
	await nginx.exited;
	clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------------------
// One variant

async function runVariant(variant, options, log) {
	const dir = await variantDir(`graceful-proc-roll-nginx-${variant}-`, options.keep);
	const serviceArgs = serviceArgsOf(options);
	const phases = phaseCounter();
	const names = Array.from({ length: options.replicas }, (_, i) => `s${i + 1}`);
	const replicas = new Map();
	let nginx;
	let load;
	let result;
	try {
		const first = await Promise.all(names.map((name) => startReplica({ name, port: 0, generation: 0, variant, serviceArgs, dir })));
		for (const replica of first) replicas.set(replica.name, replica);
		nginx = await startNginx({ bin: options.bin, dir, servers: first.map(({ name, port }) => ({ name, port })), settings: options.nginxSettings });
		nginx.exited.then(([code, signal]) => {
			if (!nginx.stopping) log(`nginx exited unexpectedly (${code ?? signal}); see ${nginx.errorLog}`);
		});
		phases.phase = 'steady';
		log(`${variant}: nginx on 127.0.0.1:${nginx.frontendPort}, replicas ${first.map((r) => `${r.name}:${r.port}`).join(' ')}`);

		load = startLoad(`http://127.0.0.1:${nginx.frontendPort}/`, options, phases, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ n: 1 }),
		});
		// Every replica must have been reached through nginx before the roll starts.
		await Promise.all(first.map((replica) => replica.firstRequest));
		await sleep(options.warmup);

		const restarts = [];
		const rollStartedAt = Date.now();
		for (let i = 0; i < options.restarts; i++) {
			const name = names[i % names.length];
			const old = replicas.get(name);
			const { fresh, exit, sigtermAt: sigterm, exitedAt, readyAt } = await replaceReplica(old, {
				generation: i + 1,
				variant,
				serviceArgs,
				dir,
				grace: options.grace,
				phases,
			});
			replicas.set(name, fresh);
			// With max_fails, nginx tries a replica that failed again only after fail_timeout.
			const firstAt = await Promise.race([
				fresh.firstRequest,
				sleep(options.nginxSettings.failTimeout + 15_000).then(() => {
					throw new SetupError(`nginx sent nothing to the new ${name} within ${options.nginxSettings.failTimeout + 15_000} ms`);
				}),
			]);
			phases.phase = 'steady';
			const report = await old.report;
			const stats = await old.stats;
			const closing = await old.closing;
			restarts.push({
				server: name,
				sigtermAt: sigterm,
				exit,
				shutdown: report ? report.outcome : undefined,
				exitMs: exitedAt - sigterm,
				readyMs: readyAt - exitedAt,
				firstRequestMs: firstAt - readyAt,
				connections: stats?.connections,
				connectionsAfterSigterm: stats?.connectionsAfterSigterm,
				connectionTimes: stats?.connectionTimes,
				requestsAfterSigterm: stats?.requestsAfterSigterm,
				// The baseline: what its close() found.
				atClose: closing,
			});
			log(
				`${variant}: restarted ${name}: exit ${exit} after ${exitedAt - sigterm} ms` +
					(stats ? ` (${stats.requestsAfterSigterm} requests and ${stats.connectionsAfterSigterm} new connections after SIGTERM)` : '') +
					`, new one ready in ${readyAt - exitedAt} ms, first request through nginx ${firstAt - readyAt} ms later`,
			);
		}
		const rollMs = Date.now() - rollStartedAt;
		const measured = await load.finish();
		result = {
			variant,
			...measured,
			rollMs,
			restarts,
			byPhase: phases.byPhase,
			nginxErrors: {}, // filled in below, once nginx has exited
			failedRequests: [],
			nginxPid: nginx.child.pid,
			replicaPids: [...replicas.values()].map((replica) => replica.child.pid),
			dir: options.keep ? dir : undefined,
		};
		return result;
	} finally {
		load?.stop();
		if (nginx) {
			nginx.stopping = true;
			await stopNginx(nginx);
			if (result) {
				result.nginxErrors = upstreamErrorsInLog(await readFile(nginx.errorLog, 'utf8').catch(() => ''));
				// `$msec $status $method $upstream_addr $upstream_status $request_time`, for failed requests only.
				const failed = await readFile(nginx.failedLog, 'utf8').catch(() => '');
				result.failedRequests = failed.split('\n').filter(Boolean);
			}
		}
		await stopReplicas(replicas, { grace: options.grace, dir, keep: options.keep });
	}
}

// ---------------------------------------------------------------------------------------------------------
// Command line

process.exitCode = await runRollDriver({
	usage:
		'node examples/rolling/roll-nginx.js [--variant graceful|baseline|both] [--duration 10] [--replicas 3] [--restarts N] ' +
		'[--rate req/s] [--connections 32] [--warmup ms] [--tail ms] [--delay ms] [--time-to-force-quit ms] [--grace ms] ' +
		'[--keepalive 128] [--keepalive-timeout ms] [--max-fails 1] [--fail-timeout ms] [--next-upstream "error timeout"] ' +
		'[--workers 1] [--json] [--keep] [-- service.js flags]',
	defaults: {
		duration: 10,
		connections: 32,
		extra: {
			keepalive: { type: 'string' },
			'keepalive-timeout': { type: 'string' },
			'max-fails': { type: 'string' },
			'fail-timeout': { type: 'string' },
			'next-upstream': { type: 'string' },
			workers: { type: 'string' },
		},
	},
	parse({ options, values, optional }) {
		const given = {
			keepalive: optional('keepalive', 1),
			keepaliveTimeout: optional('keepalive-timeout', 1),
			maxFails: optional('max-fails', 0),
			failTimeout: optional('fail-timeout', 1000),
			nextUpstream: values['next-upstream'],
			workers: optional('workers', 1),
		};
		options.nginxSettings = { ...defaultNginxSettings, ...Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) };
	},
	proxy: { name: 'nginx', find: findNginx, installHint: NGINX_INSTALL_HINT, version: nginxVersion, settings: (options) => options.nginxSettings },
	header: (options) =>
		`${options.connections} keep-alive connections sending POSTs ${options.rate > 0 ? `at ${options.rate} req/s` : 'back to back'}; ` +
		`nginx: ${JSON.stringify(options.nginxSettings)}`,
	runVariant,
	restartLine: (s) =>
		`${s.server}: exit ${s.exit}${s.shutdown ? ` (${s.shutdown})` : ''} ${s.exitMs} ms after SIGTERM` +
		(s.connectionsAfterSigterm === undefined ? '' : `, ${s.requestsAfterSigterm} requests and ${s.connectionsAfterSigterm} new connections after SIGTERM`) +
		`; next one ready ${s.readyMs} ms later, first request through nginx after ${s.firstRequestMs} ms more`,
	logLines: (r) => {
		const errors = Object.entries(r.nginxErrors ?? {});
		return errors.length > 0 ? [`nginx error log: ${errors.map(([k, n]) => `${k} × ${n}`).join(', ')}`] : [];
	},
});
