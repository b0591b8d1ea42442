/**
 * The core's options: which there are, how each is checked, and what a `createProc()` or `configure()` call
 * resolves to against the options in force. Pure (but for `outsideKillOf`, which reads PM2's environment):
 * everything is validated before anything is returned, so a refused call changes nothing; the proc applies it.
 */
import { assertForeignHandlersOption, type ForeignHandlersOption } from './foreign-handlers.js';
import { pm2KillTimeout } from './pm2-env.js';
import { assertSignalName } from './signals.js';
import { terminationLogPath } from './termination-log.js';
import type { OutsideKill } from './time-budget.js';
import type { ListenerOptions, Logger, ProcessLike, ProcOptions, ShutdownOptions, ShutdownReport } from './types.js';
import { assertBoolean, assertDuration, assertFunction, assertNumber, assertOptions, assertString, expected } from './validate.js';

export const PROC_OPTIONS = [
	'process',
	'signals',
	'timeToForceQuit',
	'timeToWrapUp',
	'exit',
	'logger',
	'handleErrors',
	'onReport',
	'diagnosticReport',
	'pm2',
	'terminationLog',
	'foreignHandlers',
	'timeForFinal',
	'watchdog',
] as const;

const WATCHDOG_MODES = ['resident', 'at-shutdown', 'off'] as const;
export type WatchdogMode = (typeof WATCHDOG_MODES)[number];

const LISTENER_OPTIONS = ['name', 'timeout', 'after'] as const;

/** The options in force on a proc, once resolved (the two times live in its TimeBudget). */
export interface CoreOptions {
	/** false: never call process.exit. */
	readonly exit: boolean;
	readonly logger: Logger | false;
	readonly onReport: ((report: ShutdownReport) => void) | undefined;
	/** Where the termination message goes when the sequence ends; undefined: nowhere. */
	readonly terminationLog: string | undefined;
	/** What the signal router listens for. */
	readonly router: RouterSettings;
	/** Whether other handlers on the signals are warned about (see foreign-handlers.ts). */
	readonly foreignHandlers: ForeignHandlersOption;
	/** The last step's slice of the deadline as set; undefined: the default (final-listeners.ts). */
	readonly timeForFinal: number | undefined;
	/** When the watchdog thread is made (see ProcOptions.watchdog). */
	readonly watchdog: WatchdogMode;
}

export interface RouterSettings {
	/** undefined: the defaults, resolved when the handlers are installed (nodemon adds SIGUSR2). */
	readonly signals: readonly string[] | undefined;
	readonly handleErrors: boolean;
	readonly pm2: boolean;
	/** The signal that writes a diagnostic report; undefined: none. */
	readonly diagnosticSignal: string | undefined;
}

/** What one call resolves to: the options in force after it, and the times it sets (undefined: left as they are). */
export interface ResolvedOptions {
	readonly options: CoreOptions;
	readonly times: { readonly timeToForceQuit: number | undefined; readonly timeToWrapUp: number | undefined };
}

export function defaultOptions(logger: Logger | false): CoreOptions {
	return {
		exit: true,
		logger,
		onReport: undefined,
		terminationLog: undefined,
		router: { signals: undefined, handleErrors: false, pm2: true, diagnosticSignal: undefined },
		foreignHandlers: 'warn',
		timeForFinal: undefined,
		watchdog: 'resident',
	};
}

/**
 * The kill that will come from outside at a fixed time after the stop signal, for the real process: PM2 SIGKILLs
 * an app kill_timeout ms after its stop signal, so unset times fit inside it and set ones are checked.
 */
export function outsideKillOf(process: ProcessLike): OutsideKill | undefined {
	const ms = process === globalThis.process ? pm2KillTimeout() : undefined;
	if (ms === undefined) return undefined;
	return { ms, who: 'PM2 (kill_timeout)', fix: (ms) => `set kill_timeout to ${ms} or more in the ecosystem file (or pm2 start --kill-timeout ${ms})` };
}

/** The process-like object a proc is given, checked before anything uses it. */
export function assertProcessLike(argument: string, value: unknown): asserts value is ProcessLike {
	const p = value as ProcessLike;
	const ok =
		p !== null &&
		typeof p === 'object' &&
		typeof p.on === 'function' &&
		typeof p.removeListener === 'function' &&
		typeof p.kill === 'function' &&
		typeof p.exit === 'function' &&
		typeof p.pid === 'number';
	if (!ok) throw new TypeError(expected(argument, 'a process-like object (on, removeListener, kill, exit, pid)', value));
}

export function assertListener(argument: string, fn: unknown, options: ListenerOptions | undefined): void {
	assertFunction(argument, fn);
	assertOptions('options', options, LISTENER_OPTIONS);
	if (options?.name !== undefined) assertString('options.name', options.name);
	if (options?.timeout !== undefined) assertDuration('options.timeout', options.timeout);
	// What each item names is checked against the listeners when it is registered (listener-order.ts).
	if (options?.after !== undefined && !Array.isArray(options.after)) throw new TypeError(expected('options.after', 'an array of wait functions or listener names', options.after));
}

/** `shutdown()`'s options checked, and the exit code it asks for (0 unless given). */
export function shutdownExitCode(options: ShutdownOptions | undefined): number {
	assertOptions('options', options, ['exitCode']);
	// `null` is bad input, not "unset".
	const exitCode = options?.exitCode === undefined ? 0 : options.exitCode;
	assertNumber('options.exitCode', exitCode, { integer: true, max: 255, maxWhy: ' (an exit code)' });
	return exitCode;
}

/** `options.diagnosticReport`: true means SIGUSR2, a name means that signal, false means none. */
function diagnosticSignalOf(value: unknown, current: string | undefined): string | undefined {
	if (value === undefined) return current;
	if (value === true) return 'SIGUSR2';
	if (value === false) return undefined;
	if (typeof value === 'string') {
		assertSignalName('options.diagnosticReport', value);
		return value;
	}
	throw new TypeError(expected('options.diagnosticReport', 'a boolean or a signal name', value));
}

/** Checks every option of one call (all of `createProc()`'s but `process`), then resolves them against `current`. */
export function resolveOptions(options: Omit<ProcOptions, 'process'>, current: CoreOptions): ResolvedOptions {
	// `null` is bad input, not "unset": only `undefined` falls back to the current value.
	const pick = <T,>(value: T | undefined, fallback: T): T => (value === undefined ? fallback : value);
	const signals = pick<readonly string[] | undefined>(options.signals, current.router.signals);
	if (options.signals !== undefined) {
		if (!Array.isArray(signals)) throw new TypeError(expected('options.signals', 'an array of signal names', signals));
		signals.forEach((name, index) => assertSignalName(`options.signals[${index}]`, name));
	}
	if (options.timeToForceQuit !== undefined) assertDuration('options.timeToForceQuit', options.timeToForceQuit);
	if (options.timeToWrapUp !== undefined) assertDuration('options.timeToWrapUp', options.timeToWrapUp);
	if (options.timeForFinal !== undefined) assertDuration('options.timeForFinal', options.timeForFinal);
	const exit = pick(options.exit, current.exit);
	assertBoolean('options.exit', exit);
	const handleErrors = pick(options.handleErrors, current.router.handleErrors);
	assertBoolean('options.handleErrors', handleErrors);
	const pm2 = pick(options.pm2, current.router.pm2);
	assertBoolean('options.pm2', pm2);
	const logger = pick(options.logger, current.logger);
	if (logger !== false && (logger === null || typeof logger !== 'object' || typeof logger.error !== 'function')) {
		throw new TypeError(expected('options.logger', 'an object with an `error(message)` method, or false', logger));
	}
	if (options.onReport !== undefined) assertFunction('options.onReport', options.onReport);
	const terminationLog = options.terminationLog === undefined ? current.terminationLog : terminationLogPath('options.terminationLog', options.terminationLog);
	const diagnosticSignal = diagnosticSignalOf(options.diagnosticReport, current.router.diagnosticSignal);
	const foreignHandlers = pick<ForeignHandlersOption>(options.foreignHandlers, current.foreignHandlers);
	if (options.foreignHandlers !== undefined) assertForeignHandlersOption('options.foreignHandlers', foreignHandlers);
	const watchdog = pick<unknown>(options.watchdog, current.watchdog);
	if (!WATCHDOG_MODES.includes(watchdog as WatchdogMode)) throw new TypeError(expected('options.watchdog', "'resident', 'at-shutdown' or 'off'", watchdog));
	return {
		options: {
			exit,
			logger,
			onReport: pick(options.onReport, current.onReport),
			terminationLog,
			router: { signals: signals && [...new Set(signals)], handleErrors, pm2, diagnosticSignal },
			foreignHandlers: Array.isArray(foreignHandlers) ? [...foreignHandlers] : foreignHandlers,
			timeForFinal: pick(options.timeForFinal, current.timeForFinal),
			watchdog: watchdog as WatchdogMode,
		},
		times: { timeToForceQuit: options.timeToForceQuit, timeToWrapUp: options.timeToWrapUp },
	};
}
