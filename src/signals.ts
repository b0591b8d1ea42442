import { constants } from 'node:os';
import type { ProcessLike } from './types.js';
import { assertString, expected } from './validate.js';

let catchable: Set<string> | undefined;

/** Signals a process can listen for. SIGBREAK exists on Windows only, and a fake process may claim to be Windows. */
function catchableSignals(): Set<string> {
	if (catchable === undefined) {
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

export function defaultSignals(platform: string | undefined): string[] {
	return platform === 'win32' ? ['SIGTERM', 'SIGINT', 'SIGBREAK'] : ['SIGTERM', 'SIGINT'];
}

export interface SignalRouterOptions {
	process: ProcessLike;
	signals: readonly string[];
	handleErrors: boolean;
	pm2: boolean;
	diagnosticSignal: string | undefined;
	onSignal(name: string): void;
	onError(error: unknown, kind: 'uncaughtException' | 'unhandledRejection'): void;
	onDiagnostic(): void;
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

	install(): void {
		if (this.installed) return;
		const o = this.#options;
		const add = (event: string, handler: (...args: any[]) => void) => {
			o.process.on(event, handler);
			this.#installed.push([event, handler]);
		};
		for (const name of o.signals) add(name, () => o.onSignal(name));
		if (o.diagnosticSignal !== undefined) add(o.diagnosticSignal, () => o.onDiagnostic());
		if (o.handleErrors) {
			add('uncaughtException', (error: unknown) => o.onError(error, 'uncaughtException'));
			add('unhandledRejection', (reason: unknown) => o.onError(reason, 'unhandledRejection'));
		}
		// PM2 sends a 'shutdown' message instead of a signal where signals do not exist (Windows).
		if (o.pm2 && typeof o.process.send === 'function') {
			add('message', (message: unknown) => {
				if (message === 'shutdown') o.onSignal('shutdown');
			});
			// A 'message' listener refs the IPC channel; ours alone must not keep the process alive.
			const count = (o.process as { listenerCount?: (event: string) => number }).listenerCount?.('message');
			if (count === 1) o.process.channel?.unref?.();
		}
	}

	uninstall(): void {
		const p = this.#options.process;
		for (const [event, handler] of this.#installed) p.removeListener(event, handler);
		this.#installed = [];
	}
}
