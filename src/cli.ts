#!/usr/bin/env node
// The `graceful-proc` bin. It runs on every Docker HEALTHCHECK and exec probe, and from `kubectl exec`, so it
// loads nothing but what one command needs: no core, no `debug`, no http module for a file probe.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseDuration } from './health/parse-duration.js';
import { redact } from './health/redact.js';
import type { ProbeResult } from './health/probe-url.js';

const USAGE = `Usage:
  graceful-proc probe <url> [--timeout <duration>] [--insecure]
  graceful-proc probe --file <path> --max-age <duration>
  graceful-proc ready off|on --file <path>
  graceful-proc --help | --version

Probes a service for Docker HEALTHCHECK and Kubernetes exec probes, in images without curl, and takes an
instance out of rotation and back (kubectl exec), in images without a shell.

  probe <url>            GET the http:// or https:// URL; healthy on a 2xx answer within --timeout.
                         Redirects are not followed.
  --timeout <duration>   How long to wait for the answer (default 3s).
  -k, --insecure         Accept a TLS certificate that does not verify (self-signed).
  probe --file <path>    Healthy when the file's mtime is at most --max-age old: the heartbeatFile
                         a health ticker touches after every good round.
  --max-age <duration>   Required with --file.
  ready off --file <path>  Create the file: a health ticker whose notReadyFile it is answers /readyz
                         with 503 from its next round on (liveness untouched).
  ready on --file <path>   Remove it: /readyz follows the checks again.

Durations: 500ms, 2s, 1.5m, 1h (a unit is required).
Exit codes: 0 healthy (or done), 1 unhealthy (or the file could not be changed; the reason is printed
on stderr), 2 usage error.
`;

const DEFAULT_TIMEOUT = 3000;

class UsageError extends Error {
	override name = 'UsageError';
}

function duration(option: string, text: string | undefined): number | undefined {
	if (text === undefined) return undefined;
	const ms = parseDuration(text);
	if (ms === undefined || ms <= 0) throw new UsageError(`--${option} must be a duration > 0 such as 500ms, 2s or 1m, got "${text}"`);
	return ms;
}

function version(): string {
	try {
		const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
		return pkg.version ?? 'unknown';
	} catch {
		return 'unknown';
	}
}

async function probe(args: string[]): Promise<ProbeResult | 'help'> {
	let parsed;
	try {
		parsed = parseArgs({
			args,
			allowPositionals: true,
			strict: true,
			options: {
				help: { type: 'boolean', short: 'h' },
				timeout: { type: 'string' },
				insecure: { type: 'boolean', short: 'k' },
				file: { type: 'string' },
				'max-age': { type: 'string' },
			},
		});
	} catch (error) {
		throw new UsageError((error as Error).message);
	}
	const { values, positionals } = parsed;
	if (values.help) return 'help';

	if (values.file !== undefined) {
		if (positionals.length > 0) throw new UsageError('give either a URL or --file, not both');
		if (values.timeout !== undefined || values.insecure) throw new UsageError('--timeout and --insecure apply to URL probes, not --file');
		if (values.file === '') throw new UsageError('--file needs a path');
		const maxAge = duration('max-age', values['max-age']);
		if (maxAge === undefined) throw new UsageError('--file needs --max-age, e.g. --max-age 30s');
		const { probeFile } = await import('./health/probe-file.js');
		return probeFile(values.file, maxAge);
	}

	if (values['max-age'] !== undefined) throw new UsageError('--max-age applies to --file probes');
	if (positionals.length === 0) throw new UsageError('probe needs a URL, e.g. graceful-proc probe http://127.0.0.1:3000/readyz');
	if (positionals.length > 1) throw new UsageError(`probe takes one URL, got ${positionals.length}: ${positionals.join(' ')}`);
	const text = positionals[0]!;
	let url: URL;
	try {
		url = new URL(text);
	} catch {
		throw new UsageError(`not a URL: "${text}" (write it in full, e.g. http://127.0.0.1:3000/readyz)`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new UsageError(`only http:// and https:// URLs can be probed, got "${url.protocol}"`);
	}
	const timeout = duration('timeout', values.timeout) ?? DEFAULT_TIMEOUT;
	const { probeUrl } = await import('./health/probe-url.js');
	return probeUrl(url, timeout, values.insecure ?? false);
}

async function runProbe(args: string[]): Promise<number> {
	const result = await probe(args);
	if (result === 'help') {
		process.stdout.write(USAGE);
		return 0;
	}
	if (result.ok) {
		process.stdout.write(`healthy: ${redact(result.message)}\n`);
		return 0;
	}
	process.stderr.write(`graceful-proc probe: unhealthy: ${redact(result.message)}\n`);
	return 1;
}

/** `ready off|on --file <path>`: the readiness switch a health ticker's `notReadyFile` watches. */
async function runReady(args: string[]): Promise<number> {
	let parsed;
	try {
		parsed = parseArgs({
			args,
			allowPositionals: true,
			strict: true,
			options: { help: { type: 'boolean', short: 'h' }, file: { type: 'string' } },
		});
	} catch (error) {
		throw new UsageError((error as Error).message);
	}
	const { values, positionals } = parsed;
	if (values.help) {
		process.stdout.write(USAGE);
		return 0;
	}
	const [switchTo, ...extra] = positionals;
	if (switchTo === undefined) throw new UsageError('ready needs off or on, e.g. graceful-proc ready off --file /tmp/not-ready');
	if (switchTo !== 'off' && switchTo !== 'on') throw new UsageError(`unknown ready subcommand "${switchTo}": use off or on`);
	if (extra.length > 0) throw new UsageError(`ready ${switchTo} takes no other arguments, got: ${extra.join(' ')}`);
	const file = values.file;
	if (file === undefined) throw new UsageError(`ready ${switchTo} needs --file <path>: the notReadyFile of the health ticker`);
	if (file === '') throw new UsageError('--file needs a path');
	const { putBack, takeOut } = await import('./health/not-ready-file.js');
	try {
		if (switchTo === 'off') {
			await takeOut(file);
			process.stdout.write(`not ready: created ${file}; /readyz answers 503 from the next health round\n`);
		} else if (await putBack(file)) {
			process.stdout.write(`ready: removed ${file}; /readyz follows the checks again from the next health round\n`);
		} else {
			process.stdout.write(`ready: ${file} did not exist; nothing to do\n`);
		}
		return 0;
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		const what = switchTo === 'off' ? 'create' : 'remove';
		process.stderr.write(`graceful-proc ready: cannot ${what} ${file}: ${code ?? ''}${code ? ' ' : ''}${(error as Error).message}\n`);
		return 1;
	}
}

async function main(argv: string[]): Promise<number> {
	const [command, ...rest] = argv;
	try {
		if (command === '--help' || command === '-h' || command === 'help') {
			process.stdout.write(USAGE);
			return 0;
		}
		if (command === '--version' || command === '-v') {
			process.stdout.write(`${version()}\n`);
			return 0;
		}
		if (command === undefined) throw new UsageError('a command is needed');
		if (command === 'probe') return await runProbe(rest);
		if (command === 'ready') return await runReady(rest);
		throw new UsageError(`unknown command "${command}"`);
	} catch (error) {
		if (error instanceof UsageError) {
			process.stderr.write(`graceful-proc: ${redact(error.message)}\n\n${USAGE.split('\n\n', 1)[0]}\n\nMore: graceful-proc --help\n`);
			return 2;
		}
		process.stderr.write(`graceful-proc ${command}: ${command === 'probe' ? 'unhealthy: ' : ''}${redact(String((error as Error)?.message ?? error))}\n`);
		return 1;
	}
}

// No process.exit(): stdout and stderr are flushed and the process ends on its own, nothing is left open.
void main(process.argv.slice(2)).then((code) => {
	process.exitCode = code;
});
