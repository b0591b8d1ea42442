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
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { defaultNginxSettings, findNginx, NGINX_INSTALL_HINT, nginxConfig, nginxVersion, upstreamErrorsInLog } from './nginx.js';
import { cleanUpOnExit, exitOf, freePort, SetupError, startReplica, tempDirs, track } from './processes.js';

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
// Replicas

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
	const dir = await mkdtemp(path.join(tmpdir(), `graceful-proc-roll-nginx-${variant}-`));
	if (!options.keep) tempDirs.add(dir);
	const serviceArgs = [...options.serviceArgs];
	if (options.delay !== undefined) serviceArgs.push('--delay', String(options.delay));
	if (options.timeToForceQuit !== undefined) serviceArgs.push('--time-to-force-quit', String(options.timeToForceQuit));
	let phase = 'startup';
	const byPhase = {};
	const count = (what) => {
		byPhase[phase] ??= {};
		byPhase[phase][what] = (byPhase[phase][what] ?? 0) + 1;
	};
	const names = Array.from({ length: options.replicas }, (_, i) => `s${i + 1}`);
	const replicas = new Map();
	const connectionsAfterSigterm = [];
	let nginx;
	let load;
	let result;
	try {
		const first = await Promise.all(names.map((name) => startReplica({ name, port: 0, generation: 0, variant, serviceArgs, dir })));
		for (const replica of first) replicas.set(replica.name, replica);
		nginx = await startNginx({ bin: options.nginx, dir, servers: first.map(({ name, port }) => ({ name, port })), settings: options.nginxSettings });
		nginx.exited.then(([code, signal]) => {
			if (!nginx.stopping) log(`nginx exited unexpectedly (${code ?? signal}); see ${nginx.errorLog}`);
		});
		phase = 'steady';
		log(`${variant}: nginx on 127.0.0.1:${nginx.frontendPort}, replicas ${first.map((r) => `${r.name}:${r.port}`).join(' ')}`);

		const loadStartedAt = Date.now();
		load = autocannon({
			url: `http://127.0.0.1:${nginx.frontendPort}/`,
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ n: 1 }),
			connections: options.connections,
			...(options.rate > 0 ? { overallRate: options.rate } : {}),
			pipelining: 1,
			duration: 3600, // stopped by hand once the roll is over
			timeout: 10,
		});
		const loadResult = new Promise((resolve, reject) => {
			load.once('done', resolve);
			load.once('error', reject);
		});
		load.on('response', (client, statusCode) => count(String(statusCode)));
		load.on('reqError', (error) => count(error.code ?? error.message));
		// Every replica must have been reached through nginx before the roll starts.
		await Promise.all(first.map((replica) => replica.firstRequest));
		await sleep(options.warmup);

		const restarts = [];
		const rollStartedAt = Date.now();
		for (let i = 0; i < options.restarts; i++) {
			const name = names[i % names.length];
			const old = replicas.get(name);
			const sigterm = Date.now();
			phase = `${name} draining`;
			old.child.kill('SIGTERM');
			// Like Kubernetes' terminationGracePeriodSeconds: a replica that outstays it is killed.
			const killTimer = setTimeout(() => old.child.kill('SIGKILL'), options.grace);
			const [code, signal] = await old.exited;
			clearTimeout(killTimer);
			const exitedAt = Date.now();
			phase = `${name} down`;
			const fresh = await startReplica({ name, port: old.port, generation: i + 1, variant, serviceArgs, dir });
			replicas.set(name, fresh);
			const readyAt = Date.now();
			phase = `${name} starting`;
			// With max_fails, nginx tries a replica that failed again only after fail_timeout.
			const firstAt = await Promise.race([
				fresh.firstRequest,
				sleep(options.nginxSettings.failTimeout + 15_000).then(() => {
					throw new SetupError(`nginx sent nothing to the new ${name} within ${options.nginxSettings.failTimeout + 15_000} ms`);
				}),
			]);
			phase = 'steady';
			const report = await old.report;
			const stats = await old.stats;
			if (stats) connectionsAfterSigterm.push(stats.connectionsAfterSigterm);
			restarts.push({
				server: name,
				sigtermAt: sigterm,
				exit: signal ?? code,
				shutdown: report ? report.outcome : undefined,
				exitMs: exitedAt - sigterm,
				readyMs: readyAt - exitedAt,
				firstRequestMs: firstAt - readyAt,
				connections: stats?.connections,
				connectionsAfterSigterm: stats?.connectionsAfterSigterm,
				connectionTimes: stats?.connectionTimes,
				requestsAfterSigterm: stats?.requestsAfterSigterm,
			});
			log(
				`${variant}: restarted ${name}: exit ${signal ?? code} after ${exitedAt - sigterm} ms` +
					(stats ? ` (${stats.requestsAfterSigterm} requests and ${stats.connectionsAfterSigterm} new connections after SIGTERM)` : '') +
					`, new one ready in ${readyAt - exitedAt} ms, first request through nginx ${firstAt - readyAt} ms later`,
			);
		}
		const rollMs = Date.now() - rollStartedAt;
		const loadEnd = Math.max(loadStartedAt + options.duration * 1000, Date.now() + options.tail);
		await sleep(Math.max(0, loadEnd - Date.now()));
		load.stop();
		const stats = await loadResult;
		load = undefined;
		result = {
			variant,
			requestsSent: stats.requests.sent,
			'2xx': stats['2xx'],
			non2xx: stats.non2xx,
			errors: stats.errors,
			timeouts: stats.timeouts,
			statusCodes: Object.fromEntries(Object.entries(stats.statusCodeStats).map(([status, { count: n }]) => [status, Number(n)])),
			loadSeconds: stats.duration,
			rollMs,
			restarts,
			byPhase,
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
		allowPositionals: true,
		options: {
			variant: { type: 'string', default: 'both' },
			duration: { type: 'string', default: '10' },
			replicas: { type: 'string', default: '3' },
			restarts: { type: 'string' },
			rate: { type: 'string', default: '0' },
			connections: { type: 'string', default: '32' },
			warmup: { type: 'string', default: '1000' },
			tail: { type: 'string', default: '1000' },
			grace: { type: 'string', default: '10000' },
			delay: { type: 'string' },
			'time-to-force-quit': { type: 'string' },
			keepalive: { type: 'string' },
			'keepalive-timeout': { type: 'string' },
			'max-fails': { type: 'string' },
			'fail-timeout': { type: 'string' },
			'next-upstream': { type: 'string' },
			workers: { type: 'string' },
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
		if (variant !== 'graceful' && variant !== 'baseline') throw new SetupError(`Expected --variant to be graceful, baseline or both, got ${values.variant}`);
	}
	const replicas = number('replicas', values.replicas, 1);
	const nginxSettings = { ...defaultNginxSettings };
	if (values.keepalive !== undefined) nginxSettings.keepalive = number('keepalive', values.keepalive, 1);
	if (values['keepalive-timeout'] !== undefined) nginxSettings.keepaliveTimeout = number('keepalive-timeout', values['keepalive-timeout'], 1);
	if (values['max-fails'] !== undefined) nginxSettings.maxFails = number('max-fails', values['max-fails'], 0);
	if (values['fail-timeout'] !== undefined) nginxSettings.failTimeout = number('fail-timeout', values['fail-timeout'], 1000);
	if (values['next-upstream'] !== undefined) nginxSettings.nextUpstream = values['next-upstream'];
	if (values.workers !== undefined) nginxSettings.workers = number('workers', values.workers, 1);
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
		timeToForceQuit: values['time-to-force-quit'] === undefined ? undefined : number('time-to-force-quit', values['time-to-force-quit'], 0),
		nginxSettings,
		serviceArgs: positionals,
		json: values.json,
		keep: values.keep,
	};
}

function table(results) {
	return [
		'| variant | requests sent | 2xx | non-2xx | errors | roll duration |',
		'|---|---:|---:|---:|---:|---:|',
		...results.map((r) => `| ${r.variant} | ${r.requestsSent} | ${r['2xx']} | ${r.non2xx} | ${r.errors} | ${(r.rollMs / 1000).toFixed(1)} s |`),
	].join('\n');
}

function details(r) {
	const lines = [`### ${r.variant}`, ''];
	for (const s of r.restarts) {
		lines.push(
			`- ${s.server}: exit ${s.exit}${s.shutdown ? ` (${s.shutdown})` : ''} ${s.exitMs} ms after SIGTERM` +
				(s.connectionsAfterSigterm === undefined ? '' : `, ${s.requestsAfterSigterm} requests and ${s.connectionsAfterSigterm} new connections after SIGTERM`) +
				`; next one ready ${s.readyMs} ms later, first request through nginx after ${s.firstRequestMs} ms more`,
		);
	}
	for (const [phase, counts] of Object.entries(r.byPhase)) {
		lines.push(`- during "${phase}": ${Object.entries(counts).map(([what, n]) => `${what} × ${n}`).join(', ')}`);
	}
	const errors = Object.entries(r.nginxErrors ?? {});
	if (errors.length > 0) lines.push(`- nginx error log: ${errors.map(([k, n]) => `${k} × ${n}`).join(', ')}`);
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
			'node examples/rolling/roll-nginx.js [--variant graceful|baseline|both] [--duration 10] [--replicas 3] [--restarts N] ' +
				'[--rate req/s] [--connections 32] [--warmup ms] [--tail ms] [--delay ms] [--time-to-force-quit ms] [--grace ms] ' +
				'[--keepalive 128] [--keepalive-timeout ms] [--max-fails 1] [--fail-timeout ms] [--next-upstream "error timeout"] ' +
				'[--workers 1] [--json] [--keep] [-- service.js flags]',
		);
		return 0;
	}
	const log = options.json ? (line) => process.stderr.write(`${line}\n`) : (line) => process.stdout.write(`${line}\n`);
	const nginx = findNginx();
	if (!nginx) {
		console.error(NGINX_INSTALL_HINT);
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
	options.nginx = nginx;
	const version = nginxVersion(nginx);
	log(
		`${version}, Node ${process.version}; ${options.replicas} replicas, ${options.restarts} restarts one at a time, ` +
			`${options.connections} keep-alive connections sending POSTs ${options.rate > 0 ? `at ${options.rate} req/s` : 'back to back'}; ` +
			`nginx: ${JSON.stringify(options.nginxSettings)}`,
	);
	const results = [];
	try {
		for (const variant of options.variants) results.push(await runVariant(variant, options, log));
	} catch (error) {
		console.error(error instanceof SetupError ? `setup failed: ${error.message}` : error);
		return 2;
	}
	const summary = {
		nginx: version,
		node: process.version,
		settings: { replicas: options.replicas, restarts: options.restarts, connections: options.connections, rate: options.rate, duration: options.duration, nginx: options.nginxSettings },
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
