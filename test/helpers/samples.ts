// Runs the code samples of README.md and docs/*.md as a user would: as printed, against the built package, with
// real signals and real sockets. Every ```js / ```ts block is a sample. The HTML comments right before its fence
// (hidden when rendered) say how to run it:
//
//   <!-- sample: express port=3000 readyz=9000 -->   a name, and options (below)
//   <!-- prelude
//   const pool = { query: async () => {}, end: async () => {} };   // what a fragment leaves out
//   -->
//   <!-- not a sample: abridged from examples/worker/main.js, which test/supervise/supervise-example.test.ts runs -->
//
// The prelude runs before the block, in the same module (so it can use the block's imports, which are hoisted).
// A block with neither a prelude nor a "not a sample" note is run as it is: a fragment then fails with the
// ReferenceError a reader would get.
//
// How a sample is run, once its module has finished its top level (a top-level await that waits for the
// shutdown never finishes, and fails the sample):
// - it listens (an http server, a health port): a request is sent and held in flight inside the server (its
//   `res.end()` waits), SIGTERM comes, the response must arrive (2xx) and the process must exit 0;
// - otherwise, if it has a SIGTERM handler: SIGTERM, exit 0;
// - otherwise it must exit 0 by itself.
// A warning on stderr (a process warning or a graceful-proc summary) fails it too: a clean stop says nothing.
//
// Options: `port=<n>` the server to send the request to (by the port the sample asked for; default: the first
// that listens), `path=/x` (default `/`), `readyz=<n>` the port whose /readyz must answer 503 (checked with
// `graceful-proc probe`) from the moment of the SIGTERM while the server still serves, `exit=<n>` the expected
// exit code, `stdout=<regex>` (no spaces; `\s`), `stderr=any`, `mode=vitest` (run it with vitest: a test file),
// `hold=headers` (a stream: SIGTERM once the response headers came; it must then end by itself, with a 2xx).
// For recipes that need more than one file or a running collector:
// `import=<name>` another block of the same file, tagged `sample: <name>`, written as `<name>.mjs` beside the
// sample and loaded before it with `node --import` (an OpenTelemetry setup file); `require=<module>` a module
// loaded with `node --require` (a zero-code setup; it loads before the harness's own preload, so a SIGTERM
// handler it adds and the sample leaves on hides the signal from the harness); `collector=otlp` a local OTLP/HTTP collector that takes JSON,
// named to the sample by OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_PROTOCOL=http/json (with the resource
// detectors of a machine outside a cloud): the held request's server span must reach it; `file=<path>:<regex>`
// a file the sample writes (relative to its directory), which must match after the exit (a log file).
// For a test of an app: `with=<name>` (with `mode=vitest`) another block of the same file, tagged
// `sample: <name>`, written as `<name>.mjs` beside the test file, its prelude first, for the test to import.
//
// Fixed ports in samples (3000, 9000) are mapped to free ones by a preload, so samples run side by side; the
// same port asked for twice maps to the same free port, so two servers on one port still collide as printed. Under
// `mode=vitest` a test's connections to such a port go to the one it was mapped to (`fetch('http://localhost:3000')`).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface SampleOptions {
	port?: number;
	path: string;
	readyz?: number;
	exit: number;
	stdout?: RegExp;
	stderrAny: boolean;
	mode: 'auto' | 'vitest';
	/** `end` (default): the response is held in its res.end(); `headers`: a stream, in flight once its headers came. */
	hold: 'end' | 'headers';
	/** Another block's name: written beside the sample and loaded first with `--import`. */
	import?: string;
	/** A module loaded first with `--require`. */
	require?: string;
	/** A local OTLP/HTTP collector the sample exports to. */
	collector?: 'otlp';
	/** A file the sample writes, and what it must hold after the exit. */
	file?: { path: string; match: RegExp };
	/** With `mode=vitest`: another block's name, written beside the test for it to import. */
	with?: string;
}

export interface Sample {
	/** `README.md`, `docs/http.md` */
	readonly file: string;
	/** 1-based line of the opening fence. */
	readonly line: number;
	readonly name: string;
	readonly lang: 'js' | 'ts';
	readonly code: string;
	readonly prelude: string;
	readonly options: SampleOptions;
	/** Why the block is not run (`<!-- not a sample: ... -->`). */
	readonly notASample?: string;
	/** Whether the block had a `sample:` tag or a prelude: one that someone looked at. */
	readonly tagged: boolean;
}

const LANGS: Record<string, 'js' | 'ts'> = { js: 'js', javascript: 'js', mjs: 'js', ts: 'ts', typescript: 'ts' };

/** The Markdown files whose samples must run: README.md and docs/*.md. */
export function sampleFiles(): string[] {
	const docs = readdirSync(join(repoRoot, 'docs'))
		.filter((name) => name.endsWith('.md'))
		.sort()
		.map((name) => `docs/${name}`);
	return ['README.md', ...docs];
}

function parseOptions(text: string, where: string): { name?: string; options: SampleOptions } {
	const options: SampleOptions = { path: '/', exit: 0, stderrAny: false, mode: 'auto', hold: 'end' };
	let name: string | undefined;
	for (const token of text.split(/\s+/).filter(Boolean)) {
		const eq = token.indexOf('=');
		if (eq === -1) {
			if (name !== undefined) throw new Error(`${where}: a sample has one name; got "${name}" and "${token}"`);
			name = token;
			continue;
		}
		const key = token.slice(0, eq);
		const value = token.slice(eq + 1);
		const int = () => {
			if (!/^\d+$/.test(value)) throw new Error(`${where}: ${key}= wants a number, got "${value}"`);
			return Number(value);
		};
		if (key === 'port') options.port = int();
		else if (key === 'readyz') options.readyz = int();
		else if (key === 'exit') options.exit = int();
		else if (key === 'path') options.path = value;
		else if (key === 'stdout') options.stdout = new RegExp(value, 'm');
		else if (key === 'stderr' && value === 'any') options.stderrAny = true;
		else if (key === 'mode' && (value === 'vitest' || value === 'auto')) options.mode = value;
		else if (key === 'hold' && (value === 'end' || value === 'headers')) options.hold = value;
		else if (key === 'import' && /^[\w-]+$/.test(value)) options.import = value;
		else if (key === 'require' && value !== '') options.require = value;
		else if (key === 'collector' && value === 'otlp') options.collector = value;
		else if (key === 'with' && /^[\w-]+$/.test(value)) options.with = value;
		else if (key === 'file' && /^[\w./-]+:./.test(value)) options.file = { path: value.slice(0, value.indexOf(':')), match: new RegExp(value.slice(value.indexOf(':') + 1), 'm') };
		else throw new Error(`${where}: unknown sample option "${token}"`);
	}
	return { name, options };
}

/** The js/ts code blocks of one Markdown file, with what the comments before each one say. */
export function extractSamples(file: string, text = readFileSync(join(repoRoot, file), 'utf8')): Sample[] {
	const lines = text.split('\n');
	const samples: Sample[] = [];
	for (let i = 0; i < lines.length; i++) {
		const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
		if (!open) continue;
		const [, indent, fence] = open;
		let end = i + 1;
		while (end < lines.length && !(lines[end]!.trimStart().startsWith(fence!) && lines[end]!.trim().replace(/[`~]/g, '') === '')) end++;
		const lang = LANGS[open[3]!.toLowerCase()];
		const body = lines.slice(i + 1, end).map((line) => (line.startsWith(indent!) ? line.slice(indent!.length) : line));
		const fenceLine = i + 1;
		i = end;
		if (!lang) continue;

		// The comments right before the fence (blank lines between them allowed), nearest last.
		const comments: string[] = [];
		let j = fenceLine - 2;
		while (j >= 0) {
			if (lines[j]!.trim() === '') {
				j--;
				continue;
			}
			if (!lines[j]!.trim().endsWith('-->')) break;
			let start = j;
			while (start >= 0 && !lines[start]!.trimStart().startsWith('<!--')) start--;
			if (start < 0) break;
			comments.unshift(lines.slice(start, j + 1).join('\n').trim().replace(/^<!--/, '').replace(/-->$/, ''));
			j = start - 1;
		}
		const where = `${file}:${fenceLine}`;
		let tag: ReturnType<typeof parseOptions> | undefined;
		let prelude = '';
		let notASample: string | undefined;
		for (const comment of comments) {
			const trimmed = comment.trim();
			if (trimmed.startsWith('sample:')) tag = parseOptions(trimmed.slice('sample:'.length), where);
			else if (/^prelude\b/.test(trimmed)) prelude += `${comment.replace(/^\s*prelude:?[ \t]*\n?/, '').trimEnd()}\n`;
			else if (trimmed.startsWith('not a sample:')) notASample = trimmed.slice('not a sample:'.length).trim();
		}
		samples.push({
			file,
			line: fenceLine,
			name: tag?.name ?? `line ${fenceLine}`,
			lang,
			code: body.join('\n'),
			prelude,
			options: tag?.options ?? parseOptions('', where).options,
			...(notASample !== undefined ? { notASample } : {}),
			tagged: tag !== undefined || prelude !== '' || notASample !== undefined,
		});
	}
	return samples;
}

// Loaded with --import before the sample. It reports on fd 3, one JSON line per event, and changes nothing a
// sample can see but the port numbers and the timing of the one response the harness asks it to hold.
const PRELOAD = String.raw`
import { writeSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const send = (event) => { try { writeSync(3, JSON.stringify(event) + '\n'); } catch {} };

// Fixed ports become free ones; the same port asked for again gets the same free port (so that two servers on
// one port still collide, as they would as printed).
const ports = new Map();
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
	let requested;
	const first = args[0];
	if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
		requested = Number(first);
		args[0] = ports.get(requested) ?? 0;
	} else if (first !== null && typeof first === 'object' && first.port !== undefined && first.path === undefined && first.fd === undefined && first.handle === undefined && first._handle === undefined) {
		requested = Number(first.port);
		args[0] = { ...first, port: ports.get(requested) ?? 0 };
	} else if (first === undefined || typeof first === 'function') {
		requested = 0;
	}
	if (requested !== undefined) {
		pending += 1;
		let settled = false;
		// Not an 'error' listener: that would turn an unhandled EADDRINUSE into a handled one.
		const serverEmit = this.emit;
		this.emit = function (event, ...rest) {
			if (event === 'error' && !settled) {
				settled = true;
				pending -= 1;
				setImmediate(maybeReady);
			}
			return serverEmit.call(this, event, ...rest);
		};
		const onListening = () => {
			if (settled) return;
			settled = true;
			const address = this.address();
			if (requested !== 0 && !ports.has(requested)) ports.set(requested, address.port);
			send({ event: 'listening', requested, port: address.port, address: address.address });
			pending -= 1;
			// After the sample's own 'listening' callbacks (drain(server) in a listen callback).
			setImmediate(maybeReady);
		};
		this.once('listening', onListening);
	}
	return listen.apply(this, args);
};

// Ready: the module finished its top level and every listen() has bound (or failed).
let pending = 0;
let topLevelDone = false;
let readySent = false;
function maybeReady() {
	if (!topLevelDone || pending > 0 || readySent) return;
	readySent = true;
	send({ event: 'ready', sigterm: process.listenerCount('SIGTERM') });
}

// A response to a request with an x-sample-hold header is held in its res.end() until 200 ms after the signal
// came: the request is in flight, as with a slow handler, when the shutdown starts.
let signalled = false;
const waiting = new Set();
const emit = process.emit;
process.emit = function (name, ...rest) {
	// Before the handlers run: a sequence with nothing to wait for may exit inside them.
	if ((name === 'SIGTERM' || name === 'SIGINT') && !signalled) {
		signalled = true;
		send({ event: 'signal', name });
		setTimeout(() => { for (const release of waiting) release(); }, 200);
	}
	return emit.call(this, name, ...rest);
};
const end = http.ServerResponse.prototype.end;
const HELD = Symbol('held');
http.ServerResponse.prototype.end = function (...args) {
	if (this.req?.headers['x-sample-hold'] === undefined || this[HELD]) return end.apply(this, args);
	this[HELD] = true;
	const release = () => {
		waiting.delete(release);
		clearTimeout(cap);
		end.apply(this, args);
	};
	const cap = setTimeout(release, 15000);
	cap.unref();
	waiting.add(release);
	if (signalled) setTimeout(release, 200);
	send({ event: 'held' });
	return this;
};

globalThis[Symbol.for('graceful-proc.sample.ready')] = () => {
	topLevelDone = true;
	setImmediate(maybeReady);
};
`;

const READY = "\n;globalThis[Symbol.for('graceful-proc.sample.ready')]();\n";

/** The file a sample becomes: prelude + block (+ the ready mark), TypeScript stripped. */
export function sampleSource(sample: Sample, withReady = true): string {
	const source = `${sample.prelude}\n${sample.code}\n${withReady ? READY : ''}`;
	if (sample.lang === 'js') return source;
	return transformSync(source, { loader: 'ts', format: 'esm', target: 'node20' }).code;
}

interface Event {
	event: 'listening' | 'held' | 'signal' | 'ready';
	requested?: number;
	port?: number;
	address?: string;
	sigterm?: number;
	name?: string;
}

export interface SampleResult {
	/** What happened, step by step, for the failure message. */
	steps: string[];
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
	/** The held request's answer, for samples that listen. */
	response?: { status: number; body: string; connection?: string };
	/** `graceful-proc probe .../readyz` before and after the SIGTERM: [exit code, output]. */
	probes?: { before: [number | null, string]; during: [number | null, string]; servedDuring?: number };
	mode: 'server' | 'signal' | 'script' | 'vitest';
	/** Whether the sample's process saw the SIGTERM (a handler ran), rather than exiting before it or dying of it. */
	signalled: boolean;
	/** Whether the module finished its top level. */
	ready: boolean;
	/** With `collector=otlp`: the paths of the server spans the collector got, and what it could not decode. */
	collector?: { spans: number; serverPaths: string[]; rejected: string[] };
	/** With `file=`: the file's text after the exit, or undefined when there is none. */
	file?: string | undefined;
}

/** A directory for sample files inside the repository (so `graceful-proc` resolves to the built package). */
export function makeSampleDir(): string {
	const dir = join(repoRoot, 'test', '.tmp', `samples-${process.pid}-${Date.now()}`);
	mkdirSync(dir, { recursive: true });
	return dir;
}

/** The environment of a user's shell: none of the test runner's variables, no PORT. */
function userEnv(): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (/^(VITEST|TEST|NODE_ENV|PORT|HOST|DEBUG|NODE_OPTIONS|FORCE_COLOR)/.test(key)) continue;
		env[key] = value;
	}
	return env;
}

function slug(sample: Sample): string {
	return `${sample.file}-${sample.line}-${sample.name}`.replace(/[^\w]+/g, '-').toLowerCase();
}

function connectHost(address: string | undefined): string {
	return address === undefined || address === '::' || address === '0.0.0.0' ? '127.0.0.1' : address;
}

function get(host: string, port: number, path: string, hold: boolean, onHeaders?: () => void): Promise<{ status: number; body: string; connection?: string }> {
	return new Promise((resolve, reject) => {
		const req = http.get({ host, port, path, agent: false, headers: hold ? { 'x-sample-hold': '1' } : {} }, (res) => {
			onHeaders?.();
			let body = '';
			res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(res.headers.connection ? { connection: res.headers.connection } : {}) }));
			res.on('error', reject);
		});
		req.on('error', reject);
	});
}

async function probe(url: string): Promise<[number | null, string]> {
	return startProbe(url).go();
}

/**
 * `graceful-proc probe <url>`, with Node started ahead and the CLI run on `go()`: the probe during a sample's delay
 * must not pay a process start, which took 1.8 s on a loaded machine, past a delay of 1.5 s. `started` resolves once
 * the process is up and waiting (a handshake on its stdout). The CLI itself (its module, its arguments, its exit
 * code and output) runs as a user runs it. `stop()` ends one that is not needed after all.
 */
function startProbe(url: string): { started: Promise<void>; go(): Promise<[number | null, string]>; stop(): void } {
	const cli = join(repoRoot, 'dist', 'cli.js');
	const argv = JSON.stringify([process.execPath, cli, 'probe', url, '--timeout', '2s']);
	const wait =
		`process.stdin.once('data', () => { process.stdin.destroy(); process.argv = ${argv}; import(${JSON.stringify(pathToFileURL(cli).href)}); });` +
		"process.stdout.write('waiting\\n');";
	const child = spawn(process.execPath, ['-e', wait], { stdio: ['pipe', 'pipe', 'pipe'] });
	let output = '';
	let waiting!: () => void;
	const started = new Promise<void>((resolve) => (waiting = resolve));
	child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
		output += chunk;
		if (output.startsWith('waiting\n')) {
			output = output.slice('waiting\n'.length);
			waiting();
		}
	});
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
	const closed = once(child, 'close') as Promise<[number | null]>;
	void closed.then(() => waiting());
	return {
		started,
		async go() {
			await started;
			child.stdin.end('go\n');
			const [code] = await closed;
			return [code, output.trim()];
		},
		stop() {
			child.kill();
		},
	};
}

/** Runs one sample in `dir` as described at the top of this file. Never throws for what the sample does. */
export async function runSample(sample: Sample, dir: string, limitMs = 20_000): Promise<SampleResult> {
	const home = join(dir, slug(sample));
	mkdirSync(home, { recursive: true });
	const steps: string[] = [];
	const started = Date.now();
	const step = (text: string) => steps.push(`${String(Date.now() - started).padStart(5)} ms  ${text}`);

	if (sample.options.mode === 'vitest') return runWithVitest(sample, home, step, steps);

	writeFileSync(join(home, 'preload.mjs'), PRELOAD);
	const file = join(home, 'sample.mjs');
	writeFileSync(file, sampleSource(sample));
	const flags = ['--import', './preload.mjs'];
	if (sample.options.require !== undefined) flags.push('--require', sample.options.require);
	if (sample.options.import !== undefined) {
		const setup = extractSamples(sample.file).find((other) => other.name === sample.options.import);
		if (!setup) throw new Error(`${sample.file}:${sample.line}: import=${sample.options.import}: no block of that name in ${sample.file}`);
		writeFileSync(join(home, `${setup.name}.mjs`), sampleSource(setup, false));
		flags.push('--import', `./${setup.name}.mjs`);
	}
	const collector: OtlpReceiver | undefined = sample.options.collector === 'otlp' ? await startOtlpReceiver() : undefined;
	const env = userEnv();
	if (collector) {
		// What an operator sets for a collector beside the service; the detectors of a machine outside a cloud
		// (the cloud ones would look for a metadata server, and warn when there is none).
		Object.assign(env, { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process' });
	}
	const child: ChildProcess = spawn(process.execPath, [...flags, file], {
		cwd: home,
		env,
		stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
	});
	let stdout = '';
	let stderr = '';
	child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
	child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
	const events: Event[] = [];
	const waiters: Array<{ match: (e: Event) => boolean; resolve: (e: Event) => void }> = [];
	let partial = '';
	(child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8');
	(child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: string) => {
		partial += chunk;
		const lines = partial.split('\n');
		partial = lines.pop()!;
		for (const line of lines) {
			const event = JSON.parse(line) as Event;
			events.push(event);
			step(`sample: ${line}`);
			for (const waiter of [...waiters]) {
				if (waiter.match(event)) {
					waiters.splice(waiters.indexOf(waiter), 1);
					waiter.resolve(event);
				}
			}
		}
	});
	const closed = once(child, 'close').then(([code, signal]) => {
		step(`exited: code ${code}, signal ${signal}`);
		return { code: code as number | null, signal: signal as NodeJS.Signals | null };
	});
	// limitMs to get ready, then limitMs for the rest: a loaded machine took 17 s to load the OpenTelemetry SDK
	// alone, which left an otel sample no time for its shutdown. The vitest timeout bounds the whole.
	const kill = (what: string) => () => {
		step(`still running ${limitMs} ms after ${what}: SIGKILL`);
		child.kill('SIGKILL');
	};
	let killer = setTimeout(kill('the start'), limitMs);
	/** The first event matching, or undefined if the process closes first. */
	const waitFor = (match: (e: Event) => boolean): Promise<Event | undefined> => {
		const seen = events.find(match);
		if (seen) return Promise.resolve(seen);
		return Promise.race([new Promise<Event>((resolve) => waiters.push({ match, resolve })), closed.then(() => undefined)]);
	};

	const result: SampleResult = { steps, code: null, signal: null, stdout: '', stderr: '', mode: 'script', signalled: false, ready: false };
	try {
		const ready = await waitFor((e) => e.event === 'ready');
		if (ready) {
			clearTimeout(killer);
			killer = setTimeout(kill('it was ready'), limitMs);
		}
		if (!ready) {
			step('the module never finished its top level');
		} else {
			result.ready = true;
			const servers = events.filter((e) => e.event === 'listening');
			if (servers.length > 0) {
				result.mode = 'server';
				const target = sample.options.port === undefined ? servers[0]! : servers.find((e) => e.requested === sample.options.port);
				if (!target) throw new Error(`no server listened on the port asked for (${sample.options.port}); listening: ${JSON.stringify(servers)}`);
				const host = connectHost(target.address);
				const health = sample.options.readyz === undefined ? undefined : servers.find((e) => e.requested === sample.options.readyz);
				if (sample.options.readyz !== undefined && !health) throw new Error(`no server listened on the readyz port (${sample.options.readyz})`);
				const readyzUrl = health && `http://${connectHost(health.address)}:${health.port}/readyz`;
				let before: [number | null, string] | undefined;
				let duringProbe: ReturnType<typeof startProbe> | undefined;
				if (readyzUrl) {
					// Ready after the first good round, which starts at once: a handshake, bounded.
					for (let tries = 0; tries < 40; tries++) {
						if ((await get(connectHost(health!.address), health!.port!, '/readyz', false).catch(() => ({ status: 0 }))).status === 200) break;
						await new Promise((r) => setTimeout(r, 50));
					}
					// The probe for after the SIGTERM is started beside this one, and the SIGTERM waits until it is up.
					duringProbe = startProbe(readyzUrl);
					before = await probe(readyzUrl);
					step(`probe ${readyzUrl} before SIGTERM: exit ${before[0]} (${before[1]})`);
					await duringProbe.started;
				}
				step(`GET ${sample.options.path} on ${host}:${target.port} (asked for ${target.requested}), held in flight`);
				let headers!: () => void;
				const headersCame = new Promise<{ event: 'held' }>((resolve) => (headers = () => resolve({ event: 'held' })));
				const response = get(host, target.port!, sample.options.path, true, headers).then(
					(r) => (result.response = r),
					(error: Error) => step(`the held request failed: ${error.message}`),
				);
				const inFlight = sample.options.hold === 'headers' ? headersCame : waitFor((e) => e.event === 'held');
				const held = await Promise.race([inFlight, response.then(() => undefined)]);
				if (!held) {
					duringProbe?.stop();
					throw new Error('the response was not in flight: it ended before SIGTERM, or the process closed');
				}
				step('SIGTERM');
				child.kill('SIGTERM');
				if (readyzUrl) {
					await waitFor((e) => e.event === 'signal').catch((error: unknown) => {
						duringProbe?.stop();
						throw error;
					});
					// The new request goes out at once, beside the probe (a process of its own, started before the SIGTERM).
					const newRequest = get(host, target.port!, '/', false).then(
						(r) => (step(`a new request after SIGTERM: ${r.status}`), r.status),
						(error: Error) => (step(`a new request after SIGTERM failed: ${error.message}`), 0),
					);
					const during = await duringProbe!.go();
					step(`probe ${readyzUrl} after SIGTERM: exit ${during[0]} (${during[1]})`);
					result.probes = { before: before!, during, servedDuring: await newRequest };
				}
				await response;
			} else if ((ready.sigterm ?? 0) > 0) {
				result.mode = 'signal';
				step('SIGTERM');
				child.kill('SIGTERM');
			} else {
				result.mode = 'script';
			}
		}
	} catch (error) {
		step(`harness: ${(error as Error).message}`);
		child.kill('SIGKILL');
	}
	const exit = await closed;
	clearTimeout(killer);
	if (collector) {
		result.collector = { spans: collector.spans.length, serverPaths: [...collector.serverPaths()], rejected: collector.rejected };
		step(`collector: ${collector.spans.length} spans, server spans for ${JSON.stringify(result.collector.serverPaths)}`);
		await collector.close();
	}
	if (sample.options.file) {
		const path = join(home, sample.options.file.path);
		result.file = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
	}
	return { ...result, ...exit, stdout, stderr, signalled: events.some((e) => e.event === 'signal') };
}

// Loaded with --import by the vitest run of a `mode=vitest` sample (and so by its workers): fixed ports become
// free ones, as for the other samples, and a connection to a fixed port goes to the one it became.
const VITEST_PORTS = String.raw`
import net from 'node:net';

const ports = new Map();
const fixed = (value) => {
	const port = typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value)) ? Number(value) : undefined;
	return port !== undefined && port > 0 ? port : undefined;
};
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
	const first = args[0];
	const byOptions = first !== null && typeof first === 'object' && first.path === undefined && first.fd === undefined && first.handle === undefined;
	const requested = byOptions ? fixed(first.port) : fixed(first);
	if (requested !== undefined) {
		args[0] = byOptions ? { ...first, port: ports.get(requested) ?? 0 } : (ports.get(requested) ?? 0);
		this.once('listening', () => { if (!ports.has(requested)) ports.set(requested, this.address().port); });
	}
	return listen.apply(this, args);
};
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
	// net.connect() passes its normalized arguments as one array: [options, callback].
	const holder = Array.isArray(args[0]) ? args[0] : args;
	const first = holder[0];
	const requested = first !== null && typeof first === 'object' ? fixed(first.port) : fixed(first);
	if (requested !== undefined && ports.has(requested)) {
		holder[0] = typeof first === 'object' ? { ...first, port: ports.get(requested) } : ports.get(requested);
	}
	return connect.apply(this, args);
};
`;

async function runWithVitest(sample: Sample, home: string, step: (text: string) => void, steps: string[]): Promise<SampleResult> {
	writeFileSync(join(home, 'sample.test.mjs'), sampleSource(sample, false));
	if (sample.options.with !== undefined) {
		const app = extractSamples(sample.file).find((other) => other.name === sample.options.with);
		if (!app) throw new Error(`${sample.file}:${sample.line}: with=${sample.options.with}: no block of that name in ${sample.file}`);
		writeFileSync(join(home, `${app.name}.mjs`), sampleSource(app, false));
	}
	writeFileSync(join(home, 'ports.mjs'), VITEST_PORTS);
	// Its own config: vitest would otherwise find the repository's, which includes only test/**/*.test.ts.
	// Its test timeout is the harness's margin for a loaded machine (vitest's default 5 s was passed there with the
	// sample's test doing what it should); the sample itself sets none.
	writeFileSync(join(home, 'vitest.config.mjs'), "export default { test: { include: ['sample.test.mjs'], testTimeout: 20_000 } };\n");
	const child = spawn(process.execPath, [join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', join(home, 'vitest.config.mjs'), '--root', home, '--reporter', 'verbose'], {
		cwd: home,
		env: { ...userEnv(), NO_COLOR: '1', NODE_OPTIONS: `--import ${pathToFileURL(join(home, 'ports.mjs')).href}` },
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let stdout = '';
	let stderr = '';
	child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
	const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
	const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
	clearTimeout(killer);
	step(`vitest exited: code ${code}, signal ${signal}`);
	return { steps, code, signal, stdout, stderr, mode: 'vitest', signalled: false, ready: true };
}

/** Everything that is wrong with a run, empty when the sample worked as printed. */
export function problems(sample: Sample, result: SampleResult): string[] {
	const found: string[] = [];
	const { options } = sample;
	if (!result.ready) found.push('the module never finished its top level (it threw, or a top-level await waits for something that never comes)');
	if (result.signal !== null) found.push(`the process was killed by ${result.signal}`);
	else if (result.code !== options.exit) found.push(`exit code ${result.code}, expected ${options.exit}`);
	if ((result.mode === 'server' || result.mode === 'signal') && !result.signalled && result.signal === null) {
		found.push('no SIGTERM handler ran: the process exited on its own before the signal came');
	}
	if (result.mode === 'server') {
		if (!result.response) found.push('the request in flight at SIGTERM got no answer');
		else if (result.response.status < 200 || result.response.status > 299) found.push(`the request in flight at SIGTERM got ${result.response.status}`);
	}
	if (options.readyz !== undefined) {
		const p = result.probes;
		if (!p) found.push('readiness was not checked');
		else {
			if (p.before[0] !== 0) found.push(`before SIGTERM, graceful-proc probe /readyz exited ${p.before[0]}: ${p.before[1]}`);
			if (p.during[0] !== 1 || !/503/.test(p.during[1])) found.push(`after SIGTERM, /readyz should answer 503; graceful-proc probe exited ${p.during[0]}: ${p.during[1]}`);
			if (p.servedDuring === undefined || p.servedDuring < 200 || p.servedDuring > 299) found.push(`after SIGTERM, during the delay, a new request got ${p.servedDuring}`);
		}
	}
	if (result.mode === 'vitest' && !/Tests\s+\d+ passed/.test(result.stdout.replace(/\x1b\[[\d;]*m/g, ''))) found.push('vitest ran no passing test');
	if (options.stdout && !options.stdout.test(result.stdout)) found.push(`stdout does not match ${options.stdout}`);
	if (options.collector && result.mode === 'server') {
		const got = result.collector;
		if (!got) found.push('the collector was not read');
		else {
			if (!got.serverPaths.includes(options.path)) found.push(`the collector got no server span for the request held in flight at SIGTERM (${options.path}); server spans: ${JSON.stringify(got.serverPaths)}`);
			if (got.rejected.length > 0) found.push(`the collector could not read what it was sent: ${got.rejected.join('; ')}`);
		}
	}
	if (options.file) {
		if (result.file === undefined) found.push(`${options.file.path} was not written`);
		else if (!options.file.match.test(result.file)) found.push(`${options.file.path} does not match ${options.file.match}:\n${result.file.slice(-2000)}`);
	}
	if (!options.stderrAny && result.mode !== 'vitest' && /Warning|graceful-proc:|Error/.test(result.stderr)) found.push('stderr has a warning or an error');
	return found;
}

/** The failure message: what is wrong, how to fix the doc, and everything the sample did. */
export function explain(sample: Sample, result: SampleResult, found: string[]): string {
	const hint = sample.tagged
		? ''
		: '\nIf this block is a fragment, put the lines that make it run right before its fence, hidden:\n' +
			'  <!-- prelude\n  const app = express();\n  -->\nor, if it cannot run at all, say why: <!-- not a sample: ... -->\n';
	return [
		`${sample.file}:${sample.line} (${sample.name}) does not work as printed: ${found.join('; ')}`,
		hint,
		'steps:',
		...result.steps.map((s) => `  ${s}`),
		`stdout:\n${result.stdout}`,
		`stderr:\n${result.stderr}`,
	].join('\n');
}
