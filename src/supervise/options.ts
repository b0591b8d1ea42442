/**
 * `supervise()`'s options: their types with defaults, and their resolution. Pure: every value is checked
 * (a TypeError or RangeError naming the option and the value) before anything is spawned or registered.
 */
import { constants } from 'node:os';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Proc } from '../types.js';
import type { OutputDestination } from './forward-output.js';
import { assertBoolean, assertDuration, assertNumber, assertOneOf, assertOptions, assertProc, assertString, describe, expected } from '../validate.js';

/** Where a supervised child is in its life. */
export type SuperviseState = 'starting' | 'running' | 'backoff' | 'stopping' | 'exited' | 'fatal';

/** When a child that exited on its own is started again. */
export type RestartPolicy = 'on-failure' | 'always' | 'never';

export interface BackoffOptions {
	/**
	 * Milliseconds before the first restart (and before a restart after a good start).
	 * @default 100
	 */
	initial?: number;
	/**
	 * The longest wait between restarts, in milliseconds.
	 * @default 15000
	 */
	max?: number;
	/**
	 * Each failed start in a row multiplies the wait by this.
	 * @default 2
	 */
	factor?: number;
	/**
	 * The share of each wait that is random, from 0 (none) to 1: the wait is drawn from
	 * `[delay × (1 − jitter), delay]`, so children that crash together do not restart together.
	 * @default 0.5
	 */
	jitter?: number;
}

/**
 * How a child says it is ready:
 * - `'message'`: it sends the IPC message `'ready'` (`process.send('ready')`, as under PM2's `wait_ready`);
 *   the child gets an IPC channel for it, so this is for Node children.
 * - `{ file }`: it creates (or touches, or replaces) this file; a file that was there before the spawn, as it
 *   was, does not count. For children of any kind.
 * - `{ url }`: a GET to this http(s) URL answers 2xx; it is asked every 100 ms. For children of any kind.
 */
export type ReadyOption = 'message' | { file: string | URL } | { url: string | URL };

/** `ready` as checked: what to watch for. */
export type Readiness = { readonly kind: 'message' } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'url'; readonly url: URL };

export interface SuperviseOptions {
	/**
	 * The child's name: in the proc's report (`supervise:<name>`), in error messages and as the prefix of
	 * its output lines with `stdio: 'pipe'`.
	 * @default the command's basename
	 */
	name?: string;
	/**
	 * The child's working directory.
	 * @default the parent's
	 */
	cwd?: string | URL;
	/**
	 * The child's whole environment (extend it with `{ ...process.env, KEY: 'value' }`).
	 * @default process.env
	 */
	env?: Record<string, string | undefined>;
	/**
	 * `'inherit'`: the child writes straight to the parent's stdout and stderr. `'pipe'`: every line it
	 * writes is prefixed with `[name] ` and written to `stdout` / `stderr` (below). `'ignore'`: discarded.
	 * The child's stdin is always empty (`/dev/null`).
	 * @default 'inherit'
	 */
	stdio?: 'inherit' | 'pipe' | 'ignore';
	/**
	 * Where the prefixed lines of the child's stdout go, with `stdio: 'pipe'`: a writable stream, or any
	 * object with a `write(chunk)` method. A stream whose `write()` returns false is waited for (`'drain'`).
	 * @default process.stdout
	 */
	stdout?: OutputDestination;
	/**
	 * Where the prefixed lines of the child's stderr go, with `stdio: 'pipe'` (as `stdout`).
	 * @default process.stderr
	 */
	stderr?: OutputDestination;
	/**
	 * `'on-failure'`: restart after an exit code not in `expectedExitCodes`, or a death by a signal that the
	 * supervisor did not send. `'always'`: restart after any exit. `'never'`: do not restart.
	 * Nothing is restarted once the handle is stopping or the proc is shutting down.
	 * @default 'on-failure'
	 */
	restart?: RestartPolicy;
	/**
	 * Exit codes that count as success.
	 * @default [0]
	 */
	expectedExitCodes?: readonly number[];
	/**
	 * The wait between restarts: `initial × factor^(failed starts in a row − 1)`, capped at `max`, with jitter.
	 * @example { initial: 500, max: 60_000, factor: 3 }
	 */
	backoff?: BackoffOptions;
	/**
	 * Seconds (fractions allowed) a child must stay up for its start to count as good: the state turns
	 * `'running'` and the backoff starts over. An exit before that is a failed start.
	 * @default 1
	 */
	startSecs?: number;
	/**
	 * Wait for the child to say it is ready (see `ReadyOption`) before its start counts: `startSecs` is then
	 * counted from readiness, `reload()` replaces the old child only once the new one is ready, and a child
	 * that is not ready within `readyTimeout` is a failed start. Without it, a start is judged by time alone.
	 * @example 'message' // and in the child, once it serves: process.send?.('ready')
	 * @example { url: 'http://127.0.0.1:3000/readyz' }
	 * @default undefined (a start counts `startSecs` after the spawn)
	 */
	ready?: ReadyOption;
	/**
	 * Milliseconds from the spawn for the child to be ready (with `ready`). A child not ready by then is
	 * stopped (`stopSignal`, SIGKILL after `stopTimeout`) and counts as a failed start; a reload's replacement
	 * is stopped and the old child keeps running.
	 * @default 30000
	 */
	readyTimeout?: number;
	/**
	 * Restarts after failed starts in a row before giving up: after `maxRestarts + 1` failed starts in a row
	 * the state is `'fatal'` and `'error'` is emitted. `Infinity` never gives up.
	 * @default 10
	 */
	maxRestarts?: number;
	/**
	 * The signal that asks the child to stop, on shutdown and on `stop()` / `restart()`.
	 * @default 'SIGTERM'
	 */
	stopSignal?: NodeJS.Signals;
	/**
	 * Milliseconds between `stopSignal` and SIGKILL. On shutdown, never later than the proc's force-quit deadline.
	 * @default 5000
	 */
	stopTimeout?: number;
	/**
	 * Start the child in its own process group and signal the whole group, so that its own children
	 * (grandchildren) are stopped with it; whatever is left in the group when the child exits gets SIGKILL.
	 * Ignored on Windows.
	 * @default false
	 */
	killGroup?: boolean;
	/**
	 * Stop the child even when the parent dies without a shutdown (SIGKILL, OOM killer, crash): a small
	 * watchdog process, shared by every supervised child of this parent, notices that the parent is gone
	 * and sends `stopSignal`, then SIGKILL after `stopTimeout`.
	 * @default true
	 */
	watchdog?: boolean;
	/**
	 * The proc whose shutdown stops the child.
	 * @default the process-wide proc
	 */
	proc?: Proc;
}

export interface ResolvedOptions {
	readonly name: string;
	readonly cwd: string | URL | undefined;
	readonly env: Record<string, string | undefined>;
	readonly stdio: 'inherit' | 'pipe' | 'ignore';
	readonly stdout: OutputDestination | undefined;
	readonly stderr: OutputDestination | undefined;
	readonly restart: RestartPolicy;
	readonly expectedExitCodes: readonly number[];
	readonly backoff: Required<BackoffOptions>;
	readonly startMs: number;
	/** Undefined: a start is judged by time alone. */
	readonly ready: Readiness | undefined;
	readonly readyTimeout: number;
	readonly maxRestarts: number;
	readonly stopSignal: NodeJS.Signals;
	readonly stopTimeout: number;
	readonly killGroup: boolean;
	readonly watchdog: boolean;
	readonly proc: Proc;
}

const OPTIONS = [
	'name',
	'cwd',
	'env',
	'stdio',
	'stdout',
	'stderr',
	'restart',
	'expectedExitCodes',
	'backoff',
	'startSecs',
	'ready',
	'readyTimeout',
	'maxRestarts',
	'stopSignal',
	'stopTimeout',
	'killGroup',
	'watchdog',
	'proc',
] as const;
const BACKOFF_OPTIONS = ['initial', 'max', 'factor', 'jitter'] as const;

export const defaultBackoff: Required<BackoffOptions> = { initial: 100, max: 15_000, factor: 2, jitter: 0.5 };

/** Only `write()` is used (see forwardOutput), so only `write()` is required. */
function assertWritable(argument: string, value: unknown): asserts value is OutputDestination {
	if (value === null || typeof value !== 'object' || typeof (value as OutputDestination).write !== 'function') {
		throw new TypeError(expected(argument, 'a writable stream or an object with a `write()` method', value));
	}
}

function assertNoNullBytes(argument: string, value: string): void {
	// spawn() would throw on it; saying so here names the argument.
	if (value.includes('\u0000')) throw new RangeError(expected(argument, 'a string without null bytes', value));
}

const DEFAULT_READY_TIMEOUT = 30_000;
const READY_WHAT = "`'message'`, `{ file: path }` or `{ url: 'http://...' }`";

/** Checks `ready`; a relative file is taken from the child's working directory, where the child writes it. */
function resolveReadiness(ready: unknown, cwd: string | URL | undefined): Readiness {
	if (ready === 'message') return { kind: 'message' };
	if (ready === null || typeof ready !== 'object' || Array.isArray(ready)) {
		throw new (typeof ready === 'string' ? RangeError : TypeError)(expected('options.ready', READY_WHAT, ready));
	}
	assertOptions('options.ready', ready, ['file', 'url']);
	const { file, url } = ready as { file?: unknown; url?: unknown };
	if ((file === undefined) === (url === undefined)) {
		throw new TypeError(expected('options.ready', `${READY_WHAT}: one of \`file\` and \`url\``, ready));
	}
	if (file !== undefined) {
		if (!(file instanceof URL)) assertString('options.ready.file', file);
		const path = file instanceof URL ? fileURLToPath(file) : (file as string);
		assertNoNullBytes('options.ready.file', path);
		const base = cwd === undefined ? process.cwd() : cwd instanceof URL ? fileURLToPath(cwd) : cwd;
		return { kind: 'file', path: resolve(base, path) };
	}
	if (!(url instanceof URL)) assertString('options.ready.url', url);
	const parsed = URL.canParse(String(url)) ? new URL(String(url)) : undefined;
	if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
		throw new RangeError(expected('options.ready.url', 'an http: or https: URL', url));
	}
	return { kind: 'url', url: parsed };
}

/** `value` unless it was left out; `null` is kept, so that the check after it refuses it. */
function given<T>(value: T | undefined, fallback: T): T {
	return value === undefined ? fallback : value;
}

function resolveArgs(args: unknown): string[] {
	if (args !== undefined && !Array.isArray(args)) throw new TypeError(expected('args', 'an array of strings', args));
	const argv = [...((args as unknown[] | undefined) ?? [])];
	argv.forEach((arg, index) => {
		assertString(`args[${index}]`, arg, { nonEmpty: false });
		assertNoNullBytes(`args[${index}]`, arg);
	});
	return argv as string[];
}

function resolveBackoff(backoff: BackoffOptions | undefined): Required<BackoffOptions> {
	assertOptions('options.backoff', backoff, BACKOFF_OPTIONS);
	const initial = given(backoff?.initial, defaultBackoff.initial);
	assertDuration('options.backoff.initial', initial);
	const max = given(backoff?.max, Math.max(defaultBackoff.max, initial));
	assertDuration('options.backoff.max', max, { min: initial });
	const factor = given(backoff?.factor, defaultBackoff.factor);
	assertNumber('options.backoff.factor', factor, { min: 1 });
	const jitter = given(backoff?.jitter, defaultBackoff.jitter);
	assertNumber('options.backoff.jitter', jitter);
	if (jitter > 1) throw new RangeError(expected('options.backoff.jitter', 'a finite number from 0 to 1', jitter));
	return { initial, max, factor, jitter };
}

/** When a start counts: `startSecs` after the spawn, or after readiness with `ready` (within `readyTimeout`). */
function resolveStart(o: SuperviseOptions): Pick<ResolvedOptions, 'startMs' | 'ready' | 'readyTimeout'> {
	const startSecs = given(o.startSecs, 1);
	assertDuration('options.startSecs', startSecs, { scale: 1000 });
	const ready = o.ready === undefined ? undefined : resolveReadiness(o.ready, o.cwd);
	const readyTimeout = given(o.readyTimeout, DEFAULT_READY_TIMEOUT);
	assertDuration('options.readyTimeout', readyTimeout, { exclusiveMin: true });
	if (o.readyTimeout !== undefined && ready === undefined) {
		throw new TypeError(`\`options.readyTimeout\` (${describe(readyTimeout)}) needs \`options.ready\`: without it, a start is judged by time alone`);
	}
	return { startMs: startSecs * 1000, ready, readyTimeout };
}

/** How a child is stopped: on shutdown, by hand, and by the parent watchdog. */
function resolveStop(o: SuperviseOptions): Pick<ResolvedOptions, 'stopSignal' | 'stopTimeout' | 'killGroup' | 'watchdog'> {
	const stopSignal = given(o.stopSignal, 'SIGTERM');
	assertString('options.stopSignal', stopSignal);
	if (!(stopSignal in constants.signals)) {
		throw new RangeError(expected('options.stopSignal', 'a signal name such as `SIGTERM`', stopSignal));
	}
	const stopTimeout = given(o.stopTimeout, 5000);
	assertDuration('options.stopTimeout', stopTimeout);
	const killGroup = given(o.killGroup, false);
	assertBoolean('options.killGroup', killGroup);
	const watchdog = given(o.watchdog, true);
	assertBoolean('options.watchdog', watchdog);
	return { stopSignal: stopSignal as NodeJS.Signals, stopTimeout, killGroup, watchdog };
}

/** What the child is called and where it runs: its working directory, its environment, and where its output goes. */
function resolveRun(command: string, o: SuperviseOptions): Pick<ResolvedOptions, 'name' | 'stdio' | 'stdout' | 'stderr'> {
	const name = o.name === undefined ? basename(command) || command : o.name;
	assertString('options.name', name);
	if (o.cwd !== undefined && typeof o.cwd !== 'string' && !(o.cwd instanceof URL)) {
		throw new TypeError(expected('options.cwd', 'a string or a file URL', o.cwd));
	}
	if (o.env !== undefined && (o.env === null || typeof o.env !== 'object' || Array.isArray(o.env))) {
		throw new TypeError(expected('options.env', 'an object', o.env));
	}
	const stdio = given(o.stdio, 'inherit');
	assertOneOf('options.stdio', stdio, ['inherit', 'pipe', 'ignore'] as const);
	if (o.stdout !== undefined) assertWritable('options.stdout', o.stdout);
	if (o.stderr !== undefined) assertWritable('options.stderr', o.stderr);
	return { name, stdio, stdout: o.stdout, stderr: o.stderr };
}

/** Checks everything and fills in the defaults; throws before anything is registered or spawned. */
export function resolveOptions(
	command: unknown,
	args: unknown,
	options: SuperviseOptions | undefined,
	defaultProc: () => Proc,
): { command: string; args: string[]; options: ResolvedOptions } {
	assertString('command', command);
	assertNoNullBytes('command', command);
	const argv = resolveArgs(args);
	assertOptions('options', options, OPTIONS);
	const o = options ?? {};

	const { name, stdio, stdout, stderr } = resolveRun(command, o);
	const restart = given(o.restart, 'on-failure');
	assertOneOf('options.restart', restart, ['on-failure', 'always', 'never'] as const);

	const expectedExitCodes = given(o.expectedExitCodes, [0]);
	if (!Array.isArray(expectedExitCodes)) {
		throw new TypeError(expected('options.expectedExitCodes', 'an array of exit codes', expectedExitCodes));
	}
	expectedExitCodes.forEach((code, index) => assertNumber(`options.expectedExitCodes[${index}]`, code, { integer: true }));

	const backoff = resolveBackoff(o.backoff);
	const { startMs, ready, readyTimeout } = resolveStart(o);
	const maxRestarts = given(o.maxRestarts, 10);
	if (maxRestarts !== Number.POSITIVE_INFINITY) assertNumber('options.maxRestarts', maxRestarts, { integer: true });

	const { stopSignal, stopTimeout, killGroup, watchdog } = resolveStop(o);

	const proc = o.proc === undefined ? defaultProc() : o.proc;
	assertProc('options.proc', proc);

	return {
		command,
		args: argv,
		options: {
			name,
			cwd: o.cwd,
			env: o.env ?? process.env,
			stdio,
			stdout,
			stderr,
			restart,
			expectedExitCodes: [...expectedExitCodes],
			backoff,
			startMs,
			ready,
			readyTimeout,
			maxRestarts,
			stopSignal,
			stopTimeout,
			killGroup,
			watchdog,
			proc,
		},
	};
}
