/**
 * The signal router: every listener a proc puts on the process (its stop signals, the diagnostic signal, uncaught
 * errors, PM2's 'shutdown' message), installed with the first listener and removed with the last; signal names.
 */
import type * as NodeOs from 'node:os';
import { processEnv } from './env.js';
import { markOurs } from './foreign-handlers.js';
import { underNodemon } from './nodemon.js';
import type { ProcessLike } from './types.js';
import { assertString, expected } from './validate.js';

let catchable: Set<string> | undefined;

/** Signals a process can listen for. SIGBREAK exists on Windows only, and a fake process may claim to be Windows. */
function catchableSignals(): Set<string> {
	if (catchable === undefined) {
		// Taken from Node on first use rather than imported: the core's import then loads no module of Node's.
		const { constants } = globalThis.process.getBuiltinModule('node:os') as typeof NodeOs;
		catchable = new Set([...Object.keys(constants.signals), 'SIGBREAK']);
		catchable.delete('SIGKILL');
		catchable.delete('SIGSTOP');
	}
	return catchable;
}

export function assertSignalName(argument: string, value: unknown): asserts value is string {
	assertString(argument, value);
	if (!catchableSignals().has(value)) throw new RangeError(expected(argument, 'a signal name that can be caught, such as `SIGTERM`', value));
}

/**
 * Where an adapter that hands a framework's own signal handlers over to the sequence (graceful-proc/nest) asks a
 * proc which process it runs on and which signals start its sequence: `() => { process, signals }`. Keyed by
 * `Symbol.for` so that another copy of the package can ask.
 */
export const SIGNALS_HANDLED = Symbol.for('graceful-proc.signalsHandled');

export function defaultSignals(platform: string | undefined): string[] {
	return platform === 'win32' ? ['SIGTERM', 'SIGINT', 'SIGBREAK'] : ['SIGTERM', 'SIGINT'];
}

/**
 * The signals a router listens for when none were configured: Node's stop signals, and SIGUSR2 under nodemon
 * (its restart signal) unless the diagnostic report has taken it.
 */
function resolveDefaultSignals(o: SignalRouterOptions): readonly string[] {
	const signals = defaultSignals(o.process.platform);
	if (o.process === globalThis.process && o.diagnosticSignal !== 'SIGUSR2' && underNodemon()) signals.push('SIGUSR2');
	return signals;
}

/**
 * Whether PM2 may stop this process with a 'shutdown' message. A process-like object given by the caller (a
 * test's fake) is taken at its word when it can receive messages; the real process must be a PM2 app in cluster
 * mode or one started with `shutdown_with_message` (PM2 passes an app's settings in its environment).
 */
function expectsPm2Message(p: ProcessLike): boolean {
	if (typeof p.send !== 'function') return false;
	if (p !== globalThis.process) return true;
	const env = processEnv();
	return env.pm_id !== undefined && (env.exec_mode === 'cluster_mode' || env.shutdown_with_message === 'true');
}

export interface SignalRouterOptions {
	process: ProcessLike;
	/** undefined: the defaults, resolved when the handlers are installed. */
	signals: readonly string[] | undefined;
	handleErrors: boolean;
	pm2: boolean;
	diagnosticSignal: string | undefined;
	onSignal(name: string): void;
	onError(error: unknown, kind: 'uncaughtException' | 'unhandledRejection'): void;
	onDiagnostic(): void;
	/** Told once the handlers are on the process. */
	onInstalled?(): void;
}

/**
 * Owns every listener a proc puts on the process, so that installing and removing happen in one place and
 * removal restores Node's default behaviour exactly.
 */
export class SignalRouter {
	readonly #options: SignalRouterOptions;
	#installed: Array<[string, (...args: any[]) => void]> = [];

	constructor(options: SignalRouterOptions) {
		this.#options = options;
	}

	get installed(): boolean {
		return this.#installed.length > 0;
	}

	/** The signals that start the sequence, as installed (the force-quit watchdog watches the same ones). */
	get signals(): readonly string[] {
		return this.#signals;
	}
	#signals: readonly string[] = [];

	/** The signals that start the sequence: as installed, or, before that, the ones install() would listen for. */
	signalsToHandle(): readonly string[] {
		return this.installed ? this.#signals : (this.#options.signals ?? resolveDefaultSignals(this.#options));
	}

	install(): void {
		if (this.installed) return;
		const o = this.#options;
		const add = (event: string, handler: (...args: any[]) => void) => {
			o.process.on(event, markOurs(handler));
			this.#installed.push([event, handler]);
		};
		this.#signals = o.signals ?? resolveDefaultSignals(o);
		for (const name of this.#signals) add(name, () => o.onSignal(name));
		if (o.diagnosticSignal !== undefined) add(o.diagnosticSignal, () => o.onDiagnostic());
		if (o.handleErrors) {
			add('uncaughtException', (error: unknown) => o.onError(error, 'uncaughtException'));
			add('unhandledRejection', (reason: unknown) => o.onError(reason, 'unhandledRejection'));
		}
		// PM2 stops an app with a 'shutdown' message instead of a signal in a cluster-mode reload and with
		// `shutdown_with_message`. Only then do we listen: a 'message' listener refs the IPC channel, and Node offers
		// no way to take that back without also breaking the app's own 'message' listeners added later.
		if (o.pm2 && expectsPm2Message(o.process)) {
			add('message', (message: unknown) => {
				if (message === 'shutdown') o.onSignal('shutdown');
			});
		}
		o.onInstalled?.();
	}

	uninstall(): void {
		const p = this.#options.process;
		for (const [event, handler] of this.#installed) p.removeListener(event, handler);
		this.#installed = [];
	}
}
