import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHealthTicker } from '../../src/health/index.js';
import { tickerJar } from '../helpers/health.js';
import { type Child, fixture, startNode } from '../helpers/child.js';

// Runs the built bin (`npm run build` first), as Docker and the kubelet would: a child process, exit codes.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(root, 'dist', 'cli.js');
const fixtures = join(root, 'test', 'fixtures');

interface Run {
	code: number | null;
	stdout: string;
	stderr: string;
	ms: number;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
	const started = Date.now();
	return new Promise((done) => {
		execFile(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
			const code = error ? ((error as { code?: number | string }).code ?? null) : 0;
			done({ code: typeof code === 'number' ? code : null, stdout, stderr, ms: Date.now() - started });
		});
	});
}

function listen(server: Server): Promise<string> {
	return new Promise((ready) => server.listen(0, '127.0.0.1', () => ready(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

const servers: Server[] = [];
let plain: string;
let tls: string;

beforeAll(async () => {
	const routes = (req: { url?: string }, res: import('node:http').ServerResponse) => {
		if (req.url === '/ok') {
			res.end('fine');
		} else if (req.url === '/no-content') {
			res.statusCode = 204;
			res.end();
		} else if (req.url === '/fail') {
			res.statusCode = 503;
			res.setHeader('content-type', 'application/json');
			res.end('{"status":"fail","reason":"failing: db"}');
		} else if (req.url === '/redirect') {
			res.statusCode = 302;
			res.setHeader('location', '/ok');
			res.end();
		} else if (req.url === '/leaky') {
			res.statusCode = 503;
			res.end('{"status":"fail","error":"connect postgres://app:s3cret@db:5432/app?token=tok-123"}');
		} else if (req.url === '/hang') {
			// Never answers: the probe's --timeout has to end it.
		} else {
			res.statusCode = 404;
			res.end();
		}
	};
	const server = createServer(routes);
	const secure = createHttpsServer(
		{ key: readFileSync(join(fixtures, 'health-tls-key.pem')), cert: readFileSync(join(fixtures, 'health-tls-cert.pem')) },
		routes,
	);
	servers.push(server, secure);
	plain = await listen(server);
	tls = await listen(secure);
});

afterAll(async () => {
	for (const server of servers) {
		server.closeAllConnections();
		await new Promise((done) => server.close(done));
	}
});

describe('graceful-proc probe <url> exits 0 on a 2xx within --timeout, 1 otherwise', () => {
	it('exits 0 on 200 and on 204', async () => {
		for (const path of ['/ok', '/no-content']) {
			const result = await run(['probe', `http://${plain}${path}`]);
			expect(result.code, result.stderr).toBe(0);
			expect(result.stdout).toContain(`healthy: http://${plain}${path} answered`);
		}
	});

	it('exits 1 on a 503, printing the status and the body on stderr', async () => {
		const result = await run(['probe', `http://${plain}/fail`]);
		expect(result.code).toBe(1);
		expect(result.stderr).toBe(
			`graceful-proc probe: unhealthy: http://${plain}/fail answered 503 Service Unavailable: {"status":"fail","reason":"failing: db"}\n`,
		);
	});

	it('never prints credentials: neither the URL\'s userinfo nor a password in the body', async () => {
		const ok = await run(['probe', `http://probe:pw-123@${plain}/ok`]);
		expect(ok.code, ok.stderr).toBe(0);
		expect(ok.stdout).toContain(`healthy: http://***@${plain}/ok answered 200`);
		const failed = await run(['probe', `http://probe:pw-123@${plain}/leaky`]);
		expect(failed.code).toBe(1);
		expect(failed.stderr).toContain('postgres://***@db:5432/app?token=***');
		for (const secret of ['pw-123', 's3cret', 'tok-123']) expect(failed.stdout + failed.stderr).not.toContain(secret);
	});

	it('exits 1 on a redirect, which it does not follow', async () => {
		const result = await run(['probe', `http://${plain}/redirect`]);
		expect(result.code).toBe(1);
		expect(result.stderr).toContain('answered 302 Found');
	});

	it('exits 1 when nobody listens', async () => {
		const closed = createServer();
		const address = await listen(closed);
		await new Promise((done) => closed.close(done));
		const result = await run(['probe', `http://${address}/readyz`]);
		expect(result.code).toBe(1);
		expect(result.stderr).toContain('ECONNREFUSED');
	});

	it('exits 1 when no answer comes within --timeout', async () => {
		const result = await run(['probe', '--timeout', '300ms', `http://${plain}/hang`]);
		expect(result.code).toBe(1);
		expect(result.stderr).toBe(`graceful-proc probe: unhealthy: no answer from http://${plain}/hang within 300ms\n`);
		// Bounded by the timeout, not by the server: an honest margin for a loaded machine and node's start.
		expect(result.ms).toBeLessThan(10_000);
	});

	it('probes https: verifies the certificate, accepts a self-signed one with --insecure or a trusted CA', async () => {
		const strict = await run(['probe', `https://${tls}/ok`]);
		expect(strict.code).toBe(1);
		expect(strict.stderr).toMatch(/self[- ]signed certificate/i);
		const insecure = await run(['probe', '-k', `https://${tls}/ok`]);
		expect(insecure.code, insecure.stderr).toBe(0);
		const trusted = await run(['probe', `https://${tls}/ok`], { NODE_EXTRA_CA_CERTS: join(fixtures, 'health-tls-cert.pem') });
		expect(trusted.code, trusted.stderr).toBe(0);
		expect((await run(['probe', '--insecure', `https://${tls}/fail`])).code).toBe(1);
	});
});

describe('graceful-proc probe follows a health ticker', () => {
	const jar = tickerJar();
	afterEach(() => jar.stopAll());

	it('exits 0 while /readyz is ready and 1 once it is set not ready, with the reason', async () => {
		const ticker = jar.track(createHealthTicker({ checks: { db: () => true }, interval: 60_000, proc: false }));
		await ticker.check();
		const { url } = await ticker.listen(0, '127.0.0.1');
		expect((await run(['probe', `${url}/readyz`])).code).toBe(0);
		ticker.setReady(false);
		const result = await run(['probe', `${url}/readyz`]);
		expect(result.code).toBe(1);
		expect(result.stderr).toContain('"reason":"set not ready"');
		expect((await run(['probe', `${url}/livez`])).code).toBe(0);
	});
});

describe('graceful-proc probe --file <path> --max-age <duration> checks a heartbeat file', () => {
	let dir: string;
	const jar = tickerJar();
	beforeEach(async () => {
		dir = await mkdtemp(join(tmpdir(), 'graceful-proc-cli-'));
	});
	afterEach(async () => {
		await jar.stopAll();
		await rm(dir, { recursive: true, force: true });
	});

	it('exits 0 for the heartbeat a ticker has just touched', async () => {
		const file = join(dir, 'heartbeat');
		const ticker = jar.track(createHealthTicker({ checks: { db: () => true }, interval: 60_000, heartbeatFile: file, proc: false }));
		await ticker.check();
		const result = await run(['probe', '--file', file, '--max-age', '30s']);
		expect(result.code, result.stderr).toBe(0);
		// The age counts until the CLI's process read the file: past a second (`1.1s ago`) when Node took that long to start.
		expect(result.stdout).toMatch(/^healthy: .+ touched (\d+ms|\d+(\.\d)?s) ago\n$/);
	});

	it('exits 1 when the file is older than --max-age, saying how old', async () => {
		const file = join(dir, 'heartbeat');
		await writeFile(file, '');
		const old = new Date(Date.now() - 90_000);
		await utimes(file, old, old);
		const result = await run(['probe', '--file', file, '--max-age', '1m']);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(/is stale: touched 1\.5m ago, more than 1m/);
		expect((await run(['probe', '--file', file, '--max-age', '2m'])).code).toBe(0);
	});

	it('exits 1 when the file does not exist', async () => {
		const result = await run(['probe', '--file', join(dir, 'never-written'), '--max-age', '30s']);
		expect(result.code).toBe(1);
		expect(result.stderr).toContain('does not exist');
	});
});

describe('graceful-proc reports usage errors with exit code 2', () => {
	it.each([
		[[], 'a command is needed'],
		[['serve'], 'unknown command "serve"'],
		[['probe'], 'probe needs a URL'],
		[['probe', 'http://a', 'http://b'], 'probe takes one URL, got 2'],
		[['probe', 'localhost:3000/readyz'], 'only http:// and https:// URLs can be probed, got "localhost:"'],
		[['probe', 'not a url'], 'not a URL: "not a url"'],
		[['probe', 'ftp://127.0.0.1/x'], 'only http:// and https:// URLs can be probed, got "ftp:"'],
		[['probe', '--timeout', '3', 'http://127.0.0.1/'], '--timeout must be a duration > 0 such as 500ms, 2s or 1m, got "3"'],
		[['probe', '--timeout', '0s', 'http://127.0.0.1/'], '--timeout must be a duration > 0'],
		[['probe', '--timeout'], "Option '--timeout <value>' argument missing"],
		[['probe', '--retries', '3', 'http://127.0.0.1/'], "Unknown option '--retries'"],
		[['probe', '--file', '/tmp/x'], '--file needs --max-age'],
		[['probe', '--file', '/tmp/x', '--max-age', 'soon'], '--max-age must be a duration > 0'],
		[['probe', '--file', '/tmp/x', '--max-age', '1s', 'http://127.0.0.1/'], 'give either a URL or --file, not both'],
		[['probe', '--file', '/tmp/x', '--max-age', '1s', '--timeout', '1s'], '--timeout and --insecure apply to URL probes'],
		[['probe', '--max-age', '1s', 'http://127.0.0.1/'], '--max-age applies to --file probes'],
	])('graceful-proc %j', async (args, message) => {
		const result = await run(args);
		expect(result.code).toBe(2);
		expect(result.stderr).toContain(`graceful-proc: ${message}`);
		expect(result.stderr).toContain('Usage:');
		expect(result.stdout).toBe('');
	});
});

describe('graceful-proc --help and --version', () => {
	it.each([[['--help']], [['-h']], [['probe', '--help']], [['ready', '--help']]])('%j prints the usage on stdout and exits 0', async (args) => {
		const result = await run(args);
		expect(result.code).toBe(0);
		expect(result.stdout).toContain('graceful-proc probe <url> [--timeout <duration>]');
		expect(result.stdout).toContain('graceful-proc probe --file <path> --max-age <duration>');
		expect(result.stdout).toContain('graceful-proc ready off|on --file <path>');
		expect(result.stdout).toContain('Exit codes: 0 healthy (or done), 1 unhealthy');
	});

	it('--version prints the package version', async () => {
		const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
		expect((await run(['--version'])).stdout).toBe(`${pkg.version}\n`);
	});
});

describe('the bin stays light', () => {
	it('starts with a node shebang and loads neither the core, debug nor p-timeout', async () => {
		const source = await readFile(cli, 'utf8');
		expect(source.startsWith('#!/usr/bin/env node\n')).toBe(true);
		// Every module the bin can reach, statically or by import(), from its own directory.
		const seen = new Set<string>();
		const visit = async (file: string) => {
			if (seen.has(file)) return;
			seen.add(file);
			const text = await readFile(file, 'utf8');
			for (const [, specifier] of text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)) {
				if (specifier!.startsWith('.')) await visit(resolve(dirname(file), specifier!));
				else expect(specifier, `${file} imports ${specifier}`).toMatch(/^node:/);
			}
		};
		await visit(cli);
		// The build bundles shared code into chunks, so look at what the reached code contains: not the
		// process-wide proc (the core), not the health ticker.
		const texts = await Promise.all([...seen].map((file) => readFile(file, 'utf8')));
		expect(texts.some((text) => text.includes('graceful-proc.process-wide'))).toBe(false);
		expect(texts.some((text) => text.includes('createHealthTicker'))).toBe(false);
		expect(texts.join('\n')).toMatch(/parseDuration/);
	});
});

describe('graceful-proc ready off|on --file <path> takes a running service out of rotation and back', () => {
	let dir: string;
	let service: Child | undefined;
	beforeEach(async () => {
		dir = await mkdtemp(join(tmpdir(), 'graceful-proc-ready-'));
	});
	afterEach(async () => {
		service?.process.kill('SIGKILL');
		service = undefined;
		await rm(dir, { recursive: true, force: true });
	});

	async function get(url: string): Promise<{ status: number; body: unknown }> {
		const res = await fetch(url, { headers: { connection: 'close' } });
		return { status: res.status, body: await res.json() };
	}

	/** Polls until `url` answers `status`, for at most `ms`; resolves to the answer and how long it took. */
	async function until(url: string, status: number, ms: number): Promise<{ answer: { status: number; body: unknown }; waited: number }> {
		const started = Date.now();
		for (;;) {
			const answer = await get(url);
			if (answer.status === status || Date.now() - started > ms) return { answer, waited: Date.now() - started };
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	}

	it('makes /readyz answer 503 while the file exists, leaves /livez and /healthz at 200, and puts it back', async () => {
		const file = join(dir, 'not-ready');
		service = startNode(fixture('health-switch.mjs'), [file]);
		const [, url] = (await service.waitFor(/^ready (\S+)$/)) as RegExpMatchArray;
		expect((await get(`${url}/readyz`)).status).toBe(200);

		const off = await run(['ready', 'off', '--file', file]);
		expect(off.code, off.stderr).toBe(0);
		expect(off.stdout).toBe(`not ready: created ${file}; /readyz answers 503 from the next health round\n`);
		expect(off.stderr).toBe('');
		// Seen within one round (interval 100 ms); the margin is for a loaded machine.
		const out = await until(`${url}/readyz`, 503, 5000);
		expect(out.answer).toEqual({ status: 503, body: { status: 'fail', reason: `taken out of rotation: ${file} exists` } });
		expect(await get(`${url}/livez`)).toEqual({ status: 200, body: { status: 'ok' } });
		expect(await get(`${url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
		expect((await get(`${url}/readyz?verbose`)).body).toMatchObject({ ready: false, live: true, started: true });
		// Running it again changes nothing.
		expect((await run(['ready', 'off', '--file', file])).code).toBe(0);

		const on = await run(['ready', 'on', '--file', file]);
		expect(on.code, on.stderr).toBe(0);
		expect(on.stdout).toBe(`ready: removed ${file}; /readyz follows the checks again from the next health round\n`);
		expect((await until(`${url}/readyz`, 200, 5000)).answer).toEqual({ status: 200, body: { status: 'ok' } });
		const again = await run(['ready', 'on', '--file', file]);
		expect(again.code).toBe(0);
		expect(again.stdout).toBe(`ready: ${file} did not exist; nothing to do\n`);
	});

	it('exits 1 with the reason when the file cannot be created or removed', async () => {
		const off = await run(['ready', 'off', '--file', join(dir, 'missing-dir', 'not-ready')]);
		expect(off.code).toBe(1);
		expect(off.stderr).toMatch(/^graceful-proc ready: cannot create .*missing-dir\/not-ready: ENOENT /);
		expect(off.stdout).toBe('');
		const on = await run(['ready', 'on', '--file', dir]);
		expect(on.code).toBe(1);
		expect(on.stderr).toMatch(/^graceful-proc ready: cannot remove /);
	});

	it.each([
		[['ready'], 'ready needs off or on'],
		[['ready', 'maybe', '--file', '/tmp/x'], 'unknown ready subcommand "maybe": use off or on'],
		[['ready', 'OFF', '--file', '/tmp/x'], 'unknown ready subcommand "OFF": use off or on'],
		[['ready', 'off'], 'ready off needs --file <path>'],
		[['ready', 'on'], 'ready on needs --file <path>'],
		[['ready', 'off', '--file'], "Option '--file <value>' argument missing"],
		[['ready', 'off', '--file', ''], '--file needs a path'],
		[['ready', 'off', 'now', '--file', '/tmp/x'], 'ready off takes no other arguments, got: now'],
		[['ready', 'off', '--path', '/tmp/x'], "Unknown option '--path'"],
	])('graceful-proc %j is a usage error (exit 2) and changes nothing', async (args, message) => {
		const result = await run(args);
		expect(result.code).toBe(2);
		expect(result.stderr).toContain(`graceful-proc: ${message}`);
		expect(result.stderr).toContain('Usage:');
		expect(result.stdout).toBe('');
	});
});
