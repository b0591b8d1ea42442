// Child-process servers and plain clients for the http tests. The child is test/fixtures/http-server.mjs,
// which imports the built package (run `npm run build` first).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('../fixtures/http-server.mjs', import.meta.url));

export type Factory = 'http' | 'https' | 'http2' | 'express' | 'koa' | 'serve-express' | 'serve-koa' | 'serve-handler';

export interface ChildConfig {
	factory?: Factory;
	/** Several servers in one process (app, metrics, admin). */
	servers?: Factory[];
	drain?: { delay?: number; idleGrace?: number; timeout?: number };
	timeToForceQuit?: number;
	timeToWrapUp?: number;
	keepAliveTimeout?: number;
	/** Print a line for every request as it arrives. */
	announce?: boolean;
	/** Print a line as each response finishes, and one from a shutdown listener. */
	hooks?: boolean;
	cert?: string;
	key?: string;
}

export interface Line {
	event: string;
	[key: string]: any;
}

export interface Exit {
	code: number | null;
	signal: NodeJS.Signals | null;
	/** performance.now() when the child's 'close' came. */
	at: number;
}

export interface ChildServer {
	child: ChildProcess;
	ports: number[];
	port: number;
	lines: Line[];
	stderr: () => string;
	/** performance.now() when SIGTERM was sent. */
	sigtermAt?: number;
	sigterm(): void;
	/** Resolves with the first line (already printed or still to come) that matches. */
	waitFor(predicate: (line: Line) => boolean, what?: string): Promise<Line>;
	exited: Promise<Exit>;
	report(): Promise<{ report: any; seen: string[] }>;
}

let tls: { cert: string; key: string; ca: Buffer; dir: string } | undefined | null;

/**
 * A self-signed certificate for 127.0.0.1, made with openssl at test time (nothing secret is committed);
 * null when openssl is not installed, and the TLS cases are skipped.
 */
export function testCertificate(): { cert: string; key: string; ca: Buffer } | null {
	if (tls !== undefined) return tls;
	try {
		execFileSync('openssl', ['version'], { stdio: 'ignore' });
	} catch {
		tls = null;
		return tls;
	}
	const dir = mkdtempSync(join(tmpdir(), 'graceful-proc-http-'));
	const key = join(dir, 'key.pem');
	const cert = join(dir, 'cert.pem');
	execFileSync(
		'openssl',
		['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
		{ stdio: 'ignore' },
	);
	tls = { cert, key, ca: readFileSync(cert), dir };
	process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
	return tls;
}

/**
 * `executable`: the runtime that runs the fixture (node by default; the Bun tests give bun's binary), `args` what
 * it takes before the fixture (the Deno tests: `run` and its permission flags).
 */
export function startServer(config: ChildConfig, { executable = process.execPath, args = [] }: { executable?: string; args?: string[] } = {}): Promise<ChildServer> {
	const needsTls = [config.factory, ...(config.servers ?? [])].some((f) => f === 'https' || f === 'http2');
	const certificate = needsTls ? testCertificate() : null;
	const full = certificate ? { ...config, cert: certificate.cert, key: certificate.key } : config;
	const child = spawn(executable, [...args, fixture, JSON.stringify(full)], { stdio: ['ignore', 'pipe', 'pipe'] });
	const lines: Line[] = [];
	const waiters: Array<{ predicate: (line: Line) => boolean; resolve: (line: Line) => void }> = [];
	let stderr = '';
	child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
	const exited = new Promise<Exit>((resolve) => {
		child.on('close', (code, signal) => resolve({ code, signal, at: performance.now() }));
	});
	return new Promise((resolve, reject) => {
		let buffered = '';
		let ready = false;
		child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
			buffered += chunk;
			let newline: number;
			while ((newline = buffered.indexOf('\n')) >= 0) {
				const text = buffered.slice(0, newline);
				buffered = buffered.slice(newline + 1);
				if (text.startsWith('ready ')) {
					ready = true;
					const ports = text.slice(6).split(' ').map(Number);
					resolve(server(ports));
					continue;
				}
				let line: Line;
				try {
					line = JSON.parse(text) as Line;
				} catch {
					line = { event: 'text', text };
				}
				lines.push(line);
				for (const waiter of waiters.splice(0)) {
					if (waiter.predicate(line)) waiter.resolve(line);
					else waiters.push(waiter);
				}
			}
		});
		void exited.then((exit) => {
			if (!ready) reject(new Error(`server exited before ready (${exit.code ?? exit.signal}): ${stderr}`));
			for (const waiter of waiters.splice(0)) waiter.resolve({ event: 'exited-before-line' });
		});

		function server(ports: number[]): ChildServer {
			const result: ChildServer = {
				child,
				ports,
				port: ports[0]!,
				lines,
				stderr: () => stderr,
				sigterm() {
					result.sigtermAt = performance.now();
					child.kill('SIGTERM');
				},
				waitFor(predicate, what = 'line') {
					const found = lines.find(predicate);
					if (found) return Promise.resolve(found);
					if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`exited before ${what}`));
					return new Promise((res, rej) => {
						waiters.push({
							predicate,
							resolve: (line) => (line.event === 'exited-before-line' ? rej(new Error(`exited before ${what}: ${stderr}`)) : res(line)),
						});
					});
				},
				exited,
				async report() {
					const line = await result.waitFor((l) => l.event === 'report', 'report');
					return { report: line.report, seen: line.seen as string[] };
				},
			};
			return result;
		}
	});
}

export interface Answer {
	status: number;
	headers: http.IncomingHttpHeaders;
	body: string;
	/** performance.now() when the response ended. */
	at: number;
}

export interface RequestOptions {
	port: number;
	path: string;
	protocol?: 'http' | 'https';
	agent?: http.Agent;
	/** Called with the socket as soon as the request has one. */
	onSocket?: (socket: net.Socket) => void;
}

/** One HTTP/1.1 request; rejects with the socket error (`code`) when there is no complete answer. */
export function request({ port, path, protocol = 'http', agent, onSocket }: RequestOptions): Promise<Answer> {
	const client = protocol === 'https' ? https : http;
	const certificate = protocol === 'https' ? testCertificate() : null;
	return new Promise((resolve, reject) => {
		const req = client.request({ host: '127.0.0.1', port, path, agent: agent ?? false, ...(certificate && !agent ? { ca: certificate.ca } : {}) });
		req.on('socket', (socket) => onSocket?.(socket as net.Socket));
		req.on('error', reject);
		req.on('response', (res) => {
			let body = '';
			res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
			res.on('end', () => {
				if (res.complete) resolve({ status: res.statusCode!, headers: res.headers, body, at: performance.now() });
				else reject(Object.assign(new Error('response cut'), { code: 'CUT' }));
			});
			res.on('error', reject);
		});
		req.end();
	});
}

/** A keep-alive agent with one socket, so that consecutive requests share a connection. */
export function keepAliveAgent(protocol: 'http' | 'https' = 'http'): http.Agent {
	const options = { keepAlive: true, maxSockets: 1 };
	if (protocol === 'https') return new https.Agent({ ...options, ca: testCertificate()!.ca });
	return new http.Agent(options);
}

/** The error code of a promise that must fail. */
export async function failure(promise: Promise<unknown>): Promise<string> {
	try {
		await promise;
	} catch (error) {
		return (error as { code?: string }).code ?? String(error);
	}
	throw new Error('expected a failure, got an answer');
}
