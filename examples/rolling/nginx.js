// nginx for the rolling-restart example: where the binary is, the config we give it, and what its error log
// says about failed requests. Plain ESM, no dependencies; roll-nginx.js is the user.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export const NGINX_INSTALL_HINT =
	'nginx is not installed. On Debian/Ubuntu: `apt-get update && apt-get install -y nginx` (or set NGINX=/path/to/nginx).';

/**
 * The nginx binary to run, or undefined. Debian installs it in /usr/sbin, which is not on every user's PATH.
 * @returns {string | undefined}
 */
export function findNginx() {
	const candidates = [];
	if (process.env.NGINX) candidates.push(process.env.NGINX);
	for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'nginx'));
	candidates.push('/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx');
	for (const file of candidates) {
		try {
			accessSync(file, constants.X_OK);
		} catch {
			continue;
		}
		if (spawnSync(file, ['-v'], { stdio: 'ignore' }).status === 0) return file;
	}
	return undefined;
}

/** `nginx version: nginx/1.22.1` (nginx prints it on stderr). */
export function nginxVersion(file) {
	const probe = spawnSync(file, ['-v'], { encoding: 'utf8' });
	return `${probe.stderr ?? ''}${probe.stdout ?? ''}`.split('\n')[0]?.trim() ?? '';
}

/**
 * The settings that decide whether a rolling restart behind nginx loses requests. Each one is explained in
 * docs/rolling.md ("nginx settings, and why"). Durations are in milliseconds.
 */
export const defaultNginxSettings = Object.freeze({
	// Idle connections to the replicas that each worker keeps, over all replicas: at least the requests that run
	// at once times the number of replicas (32 clients × 3 here), so that nginx does not close and reopen
	// connections when the load shifts between replicas: every connection opened at the instant a replica stops
	// accepting may land in its listen backlog and be reset there after the request was sent.
	keepalive: 128,
	// nginx closes a pooled connection idle this long itself, before the replica's keepAliveTimeout (35 s),
	// so that the replica never closes one that nginx is about to reuse.
	keepaliveTimeout: 30_000,
	keepaliveRequests: 10_000,
	// `max_fails=1` (nginx's default) takes a replica out for `fail_timeout` after one refused connection:
	// the first request that finds the listener closed is passed to the next replica (nothing was sent), and
	// the rest go elsewhere straight away. The roll waits until nginx sends to the new replica again.
	maxFails: 1,
	failTimeout: 2000,
	// The default: a refused or failed connection goes to the next replica. POST and other non-idempotent
	// requests are passed on only if nothing was sent; `non_idempotent` would resend them, which is a
	// decision about the application, not about restarts.
	nextUpstream: 'error timeout',
	connectTimeout: 1000,
	readTimeout: 30_000,
	workers: 1,
});

/**
 * The nginx configuration: one server on 127.0.0.1, an upstream with `servers` and a keep-alive pool, every
 * path nginx writes to inside `dir`, errors to `dir`/error.log, and an access log of failed requests only.
 * @param {{ dir: string, frontendPort: number, servers: { name: string, port: number }[] }} where
 * @param {Partial<typeof defaultNginxSettings>} [overrides]
 */
export function nginxConfig({ dir, frontendPort, servers }, overrides = {}) {
	const s = { ...defaultNginxSettings, ...overrides };
	const at = (name) => path.join(dir, name);
	const lines = [
		// In the foreground, as our child (the driver passes -p and -e too, so nothing outside `dir` is touched).
		'daemon off;',
		`worker_processes ${s.workers};`,
		`pid ${at('nginx.pid')};`,
		`error_log ${at('error.log')} warn;`,
		'events { worker_connections 4096; }',
		'',
		'http {',
		`  client_body_temp_path ${at('client_body')};`,
		`  proxy_temp_path ${at('proxy')};`,
		`  fastcgi_temp_path ${at('fastcgi')};`,
		`  uwsgi_temp_path ${at('uwsgi')};`,
		`  scgi_temp_path ${at('scgi')};`,
		// 499 is nginx's note that the client went away first (the load generator stopping), not a failure.
		'  map $status $failed { ~^[23] 0; 499 0; default 1; }',
		"  log_format failed '$msec $status $request_method $upstream_addr $upstream_status $request_time';",
		`  access_log ${at('failed.log')} failed if=$failed;`,
		'',
		'  upstream app {',
		...servers.map((server) => `    server 127.0.0.1:${server.port} max_fails=${s.maxFails} fail_timeout=${Math.ceil(s.failTimeout / 1000)}s;`),
		`    keepalive ${s.keepalive};`,
		`    keepalive_timeout ${s.keepaliveTimeout}ms;`,
		`    keepalive_requests ${s.keepaliveRequests};`,
		'  }',
		'',
		'  server {',
		`    listen 127.0.0.1:${frontendPort};`,
		// Keep-alive to the clients: a restart must not be visible to them at all.
		'    keepalive_timeout 65s;',
		'    keepalive_requests 100000;',
		'    location / {',
		'      proxy_pass http://app;',
		// HTTP/1.1 and no `Connection: close` of its own: what the upstream keep-alive pool needs.
		'      proxy_http_version 1.1;',
		'      proxy_set_header Connection "";',
		`      proxy_next_upstream ${s.nextUpstream};`,
		`      proxy_connect_timeout ${s.connectTimeout}ms;`,
		`      proxy_read_timeout ${s.readTimeout}ms;`,
		'    }',
		'  }',
		'}',
		'',
	];
	return lines.join('\n');
}

/**
 * What nginx's error log says went wrong with upstream requests, counted by kind:
 * `{ 'reset while reading response header': 2, 'connect refused': 40 }`. Refused connections are normal
 * during a roll (nginx passes the request to the next replica); the others failed a request unless nginx
 * could pass it on (GET) or it had not been sent.
 * @param {string} log the text of error.log
 */
export function upstreamErrorsInLog(log) {
	const kinds = [
		['connect refused', /connect\(\) failed \(111: Connection refused\)/],
		['reset while reading response header', /\(104: Connection reset by peer\) while reading response header/],
		['reset while sending request', /\(104: Connection reset by peer\) while sending request/],
		['broken pipe while sending request', /\(32: Broken pipe\) while sending request/],
		['closed before response header', /upstream prematurely closed connection while reading response header/],
		['no live upstreams', /no live upstreams/],
		// A warning, not a failed request: max_fails took the replica out for fail_timeout.
		['replica taken out (max_fails)', /upstream server temporarily disabled/],
		['timed out', /timed out/],
	];
	const counts = {};
	for (const line of log.split('\n')) {
		if (!line.includes('upstream')) continue;
		const kind = kinds.find(([, pattern]) => pattern.test(line));
		const key = kind ? kind[0] : 'other';
		counts[key] = (counts[key] ?? 0) + 1;
	}
	return counts;
}
