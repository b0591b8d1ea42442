// HAProxy for the rolling-restart example: where the binary is, the config we give it, and a tiny client for
// its stats socket. Plain ESM, no dependencies; roll.js is the only user.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const INSTALL_HINT =
	'HAProxy is not installed. On Debian/Ubuntu: `apt-get update && apt-get install -y haproxy` ' +
	'(or set HAPROXY=/path/to/haproxy).';

/**
 * The haproxy binary to run, or undefined. Debian installs it in /usr/sbin, which is not on every user's PATH.
 * @returns {string | undefined}
 */
export function findHaproxy() {
	const candidates = [];
	if (process.env.HAPROXY) candidates.push(process.env.HAPROXY);
	for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'haproxy'));
	candidates.push('/usr/sbin/haproxy', '/usr/local/sbin/haproxy');
	for (const file of candidates) {
		try {
			accessSync(file, constants.X_OK);
		} catch {
			continue;
		}
		const probe = spawnSync(file, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
		if (probe.status === 0) return file;
	}
	return undefined;
}

/** The first line of `haproxy -v`, e.g. `HAProxy version 2.6.12-1+deb12u1 ...`. */
export function haproxyVersion(file) {
	const probe = spawnSync(file, ['-v'], { encoding: 'utf8' });
	return (probe.stdout ?? '').split('\n')[0]?.trim() ?? '';
}

/**
 * The settings that decide whether a rolling restart loses requests. Each one is explained in docs/rolling.md.
 * Durations are in milliseconds.
 */
export const defaultHaproxySettings = Object.freeze({
	// Health checks on /readyz: a replica that starts shutting down answers 503 at once, and HAProxy takes it
	// out after `fall` failed checks, i.e. within about inter + (fall - 1) * fastinter + one check's latency.
	// The replicas' `delay` must be longer than that.
	inter: 250,
	fastinter: 250,
	downinter: 250,
	fall: 2,
	rise: 2,
	timeoutCheck: 1000,
	timeoutConnect: 1000,
	timeoutClient: 30_000,
	timeoutServer: 30_000,
	timeoutHttpRequest: 5000,
	timeoutHttpKeepAlive: 30_000,
	// Keep-alive to the servers, shared between client sessions: the realistic (and harder) case. With
	// `option http-server-close` every request would get its own server connection, which hides
	// keep-alive races and costs a connect per request.
	httpReuse: 'safe',
	// No second chances: HAProxy must not hide what the application does.
	retries: 0,
});

/**
 * The HAProxy configuration: one frontend, one backend with `servers`, a stats socket, logs of errors
 * only (to stderr, which the driver keeps in a file).
 * @param {{ frontendPort: number, servers: { name: string, port: number }[], statsSocket: string }} where
 * @param {Partial<typeof defaultHaproxySettings>} [overrides]
 */
export function haproxyConfig({ frontendPort, servers, statsSocket }, overrides = {}) {
	const s = { ...defaultHaproxySettings, ...overrides };
	const lines = [
		'global',
		'  log stderr format raw local0',
		`  stats socket ${statsSocket} mode 600 level admin`,
		'  stats timeout 5s',
		// One thread: the machine also runs the load generator and three Node processes.
		'  nbthread 1',
		'  maxconn 4096',
		'',
		'defaults',
		'  mode http',
		'  log global',
		'  option httplog',
		// Only requests that failed or ended abnormally are logged: they name the termination state
		// (SC = server refused the connection, SH = server closed before the headers, ...).
		'  option dontlog-normal',
		'  option log-health-checks',
		'  option http-keep-alive',
		`  http-reuse ${s.httpReuse}`,
		`  retries ${s.retries}`,
		'  no option redispatch',
		`  timeout connect ${s.timeoutConnect}ms`,
		`  timeout client ${s.timeoutClient}ms`,
		`  timeout server ${s.timeoutServer}ms`,
		`  timeout http-request ${s.timeoutHttpRequest}ms`,
		`  timeout http-keep-alive ${s.timeoutHttpKeepAlive}ms`,
		`  timeout check ${s.timeoutCheck}ms`,
		'',
		'frontend web',
		`  bind 127.0.0.1:${frontendPort}`,
		'  default_backend app',
		'',
		'backend app',
		'  balance roundrobin',
		'  option httpchk',
		'  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost',
		'  http-check expect status 200',
		`  default-server check inter ${s.inter}ms fastinter ${s.fastinter}ms downinter ${s.downinter}ms fall ${s.fall} rise ${s.rise}`,
		...servers.map((server) => `  server ${server.name} 127.0.0.1:${server.port}`),
		'',
	];
	return lines.join('\n');
}

/**
 * Send one command to the HAProxy CLI on its unix socket and return the whole answer.
 * @param {string} socketPath
 * @param {string} command
 * @returns {Promise<string>}
 */
export function haproxyCommand(socketPath, command) {
	return new Promise((resolve, reject) => {
		let answer = '';
		const socket = net.createConnection(socketPath);
		socket.setEncoding('utf8');
		socket.setTimeout(5000, () => socket.destroy(new Error(`HAProxy CLI did not answer \`${command}\``)));
		socket.on('connect', () => socket.write(`${command}\n`));
		socket.on('data', (chunk) => {
			answer += chunk;
		});
		socket.on('end', () => resolve(answer));
		socket.on('error', reject);
	});
}

/**
 * `show stat` as objects keyed by the CSV header, for the servers of one backend.
 * @returns {Promise<Map<string, Record<string, string>>>} server name to its row
 */
export async function serverStats(socketPath, backend = 'app') {
	const csv = await haproxyCommand(socketPath, 'show stat');
	const [header, ...rows] = csv.split('\n').filter((line) => line.trim() !== '');
	if (!header?.startsWith('# ')) throw new Error(`Unexpected answer to \`show stat\`: ${csv.slice(0, 200)}`);
	const columns = header.slice(2).split(',');
	const servers = new Map();
	for (const row of rows) {
		const cells = row.split(',');
		const record = Object.fromEntries(columns.map((column, i) => [column, cells[i] ?? '']));
		if (record.pxname === backend && record.svname !== 'FRONTEND' && record.svname !== 'BACKEND') {
			servers.set(record.svname, record);
		}
	}
	return servers;
}

/**
 * The termination states of the requests HAProxy logged (only abnormal ones are logged), counted, with the
 * server they went to: `{ 'app/s1 503 SC--': 12 }`.
 * @param {string} log the text HAProxy wrote to stderr
 */
export function failedRequestsInLog(log) {
	const counts = {};
	// httplog: ... frontend backend/server Tq/Tw/Tc/Tr/Ta status bytes - - TSTATE ac/fc/bc/sc/rc ...
	const pattern = / (\S+\/\S+) -?\d+\/-?\d+\/-?\d+\/-?\d+\/-?\d+ (\d{3}) \d+ \S+ \S+ ([A-Za-z-]{4}) /;
	for (const line of log.split('\n')) {
		const match = pattern.exec(line);
		if (!match) continue;
		const key = `${match[1]} ${match[2]} ${match[3]}`;
		counts[key] = (counts[key] ?? 0) + 1;
	}
	return counts;
}
