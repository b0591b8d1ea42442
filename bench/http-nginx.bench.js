// Rolling restarts behind nginx with POSTs: graceful-proc's serve() and a bare server.close() side by side.
// Each round runs examples/rolling/roll-nginx.js (three replicas, three restarts one at a time, 32 keep-alive
// clients sending POSTs back to back through nginx) for both variants, under two nginx configurations: the
// settings docs/rolling.md recommends, and the one of the original report (pool of 32, max_fails=0).
// Prints markdown on stdout, progress on stderr. Runs against dist/ (npm run build first).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findNginx, nginxVersion } from '../examples/rolling/nginx.js';

const roll = fileURLToPath(new URL('../examples/rolling/roll-nginx.js', import.meta.url));
const ROUNDS = Number(process.env.HTTP_NGINX_BENCH_ROUNDS ?? 3);
const DELAY = 600;
const GRACE = 6000;
const CONFIGS = [
	{ label: 'recommended: `keepalive 128`, `max_fails=1 fail_timeout=2s`', args: [] },
	{ label: 'as reported: `keepalive 32`, `max_fails=0`', args: ['--keepalive', '32', '--max-fails', '0'] },
];

function runRoll(args) {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [roll, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
		child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
		child.on('error', reject);
		child.on('close', (code) => {
			try {
				resolve(JSON.parse(stdout.trim().split('\n').at(-1)));
			} catch {
				reject(new Error(`roll-nginx.js exited with ${code}:\n${stderr.slice(-2000)}`));
			}
		});
	});
}

const median = (values) => {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const sum = (values) => values.reduce((a, b) => a + b, 0);
const mean = (values) => sum(values) / values.length;

const nginx = findNginx();
if (!nginx) {
	console.log('nginx is not installed (`apt-get install -y nginx`): nothing measured.');
	process.exit(0);
}

const rows = [];
for (const config of CONFIGS) {
	const byVariant = { graceful: [], baseline: [] };
	for (let round = 1; round <= ROUNDS; round++) {
		const summary = await runRoll(['--variant', 'both', '--duration', '6', '--restarts', '3', '--delay', String(DELAY), '--grace', String(GRACE), ...config.args]);
		for (const result of summary.results) {
			byVariant[result.variant].push(result);
			console.error(
				`${config.label}, round ${round}, ${result.variant}: ${result['2xx']} answered, ${result.non2xx} non-2xx, ${result.errors} errors, ` +
					`nginx ${JSON.stringify(result.nginxErrors)}, exits ${result.restarts.map((r) => `${r.exit}@${r.exitMs}`).join(' ')}`,
			);
		}
	}
	for (const [variant, results] of Object.entries(byVariant)) {
		const failed = results.map((r) => r.non2xx + r.errors);
		const restarts = results.flatMap((r) => r.restarts);
		const exits = restarts.map((r) => r.exitMs);
		// A replica that was killed printed no counts.
		const newConnections = restarts.filter((r) => r.connectionsAfterSigterm !== undefined).map((r) => r.connectionsAfterSigterm);
		const counted = newConnections.length === restarts.length ? '' : ` (${newConnections.length} of ${restarts.length} restarts)`;
		const resets = results.map((r) => r.nginxErrors['reset while reading response header'] ?? 0);
		rows.push(
			`| ${config.label} | ${variant === 'graceful' ? `graceful-proc \`serve()\`, \`delay: ${DELAY}\`` : 'bare `server.close()`'} | ${results.length} | ` +
				`${Math.round(mean(results.map((r) => r['2xx'])))} | ${(mean(results.map((r) => r.rollMs)) / 1000).toFixed(1)} s | ${mean(failed).toFixed(1)}, ${Math.max(...failed)} | ${sum(resets)} | ` +
				`${newConnections.length ? `${mean(newConnections).toFixed(1)}${counted}` : 'n/a'} | ${Math.round(median(exits))}, ${Math.max(...exits)} | ` +
				`${[...new Set(restarts.map((r) => r.exit))].join(', ')} |`,
		);
	}
}

const load = (await import('node:os')).loadavg().map((n) => n.toFixed(2)).join(', ');
console.log(`### Rolling restart behind nginx, POSTs (${ROUNDS} rolls per row)\n`);
console.log(`Load average when the bench ended: ${load} (2 cores); other work on the machine makes replicas stall, and stalls make`);
console.log('nginx open connections.\n');
console.log(`${nginxVersion(nginx)}, one worker, upstream keep-alive pool, \`proxy_next_upstream error timeout\` (the default: a POST that was`);
console.log('sent is never resent). Three replicas of examples/rolling/service.js (Express); 32 keep-alive clients (autocannon) send');
console.log('POSTs back to back through nginx; each roll restarts the three replicas one at a time (SIGTERM, exit, start on the same');
console.log(`port, wait for nginx to send to it again). A replica still running ${GRACE / 1000} s after SIGTERM is killed (as by Kubernetes'`);
console.log('terminationGracePeriodSeconds). *failed*: non-2xx answers (502) plus connection errors at the clients, per roll;');
console.log('*resets in nginx\'s log*: "Connection reset by peer while reading response header from upstream", all rolls;');
console.log('*new connections*: connections the replica accepted after SIGTERM, each of which could be reset in its listen backlog.');
console.log('The load runs until the roll is over, so a longer roll answers more POSTs.\n');
console.log('| nginx settings | shutdown by | rolls | POSTs answered per roll (mean) | roll duration (mean) | failed per roll (mean, max) | resets in nginx\'s log (total) | new connections after SIGTERM, per restart (mean) | exit after SIGTERM, ms (median, max) | exit |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
