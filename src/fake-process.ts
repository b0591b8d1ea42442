/**
 * The fake process of the testing kit: a process-like object on which a test delivers signals and IPC messages and
 * sees how the process would have exited (and with which report), without touching the real one.
 */
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { atCallSite, methodsAtCallSite } from './call-site.js';
import { kTellReport } from './testing-protocol.js';
import type { ProcessLike, ShutdownReport } from './types.js';
import { assertBoolean, assertNumber, assertOptions, assertString, expected } from './validate.js';

export interface FakeProcessOptions {
	/** @default 4242 */
	pid?: number;
	/** Pretend to be another platform, e.g. `'win32'` to get SIGBREAK among the default signals. @default process.platform */
	platform?: string;
	/** Give the fake an IPC channel, as a forked child or a PM2 app has; `fake.message()` then delivers messages. @default false */
	ipc?: boolean;
	/** What `getActiveResourcesInfo()` answers, shown in a forced report. @default [] */
	activeResources?: string[];
}

const signalNumbers = constants.signals as Record<string, number>;

function signalName(value: unknown): string {
	if (typeof value === 'number') {
		const found = Object.entries(signalNumbers).find(([, n]) => n === value);
		if (found) return found[0];
	} else if (typeof value === 'string' && (value in signalNumbers || value === 'SIGBREAK')) {
		return value;
	}
	throw new TypeError(expected('signal', 'a signal name or number', value));
}

/**
 * A process-like object for `createProc({ process: fake })`: signals, exits and IPC messages happen in the
 * test, and nothing reaches the real process.
 */
export class FakeProcess extends EventEmitter implements ProcessLike {
	readonly pid: number;
	readonly platform: string;
	/** How the process would have exited: the code given to `exit()`, or 128 + the signal number when a signal went unhandled. */
	exitCode: number | undefined;
	/** The signal that would have terminated the process, when one went unhandled. */
	signalCode: string | undefined;
	/** Resolves with the exit code the first time the process would have exited. */
	readonly exited: Promise<number>;
	/**
	 * The shutdown report of the proc bound to this fake, once its sequence has ended (before `exited` resolves).
	 * (`report` is Node's diagnostic report API, as on the real process.)
	 */
	shutdownReport: ShutdownReport | undefined;
	readonly channel: { unref(): void } | undefined;
	readonly #activeResources: string[];
	readonly sent: unknown[] = [];
	/** What `process.emitWarning()` was given, such as a proc's warning that its times cannot hold what was registered. */
	readonly warnings: Array<{ message: string; code: string | undefined }> = [];
	#resolveExited!: (code: number) => void;

	constructor(options: FakeProcessOptions = {}) {
		super();
		assertOptions('options', options, ['pid', 'platform', 'ipc', 'activeResources']);
		const { pid = 4242, platform = process.platform, ipc = false, activeResources = [] } = options;
		assertNumber('options.pid', pid, { min: 1, integer: true });
		assertString('options.platform', platform);
		assertBoolean('options.ipc', ipc);
		if (!Array.isArray(activeResources)) throw new TypeError(expected('options.activeResources', 'an array of strings', activeResources));
		activeResources.forEach((name, index) => assertString(`options.activeResources[${index}]`, name, { nonEmpty: false }));
		this.pid = pid;
		this.platform = platform;
		this.#activeResources = [...activeResources];
		this.exited = new Promise((resolve) => {
			this.#resolveExited = resolve;
		});
		if (ipc) {
			this.channel = { unref() {} };
			(this as { send?: (message: unknown) => boolean }).send = (message: unknown) => {
				this.sent.push(message);
				return true;
			};
		}
	}

	/** `fake.kill('SIGTERM')` or `fake.kill(fake.pid, 'SIGTERM')`: delivers the signal as the OS would. */
	kill(pidOrSignal?: number | string, maybeSignal?: string | number): boolean {
		const signal = typeof pidOrSignal === 'number' ? (maybeSignal ?? 'SIGTERM') : (pidOrSignal ?? 'SIGTERM');
		if (typeof pidOrSignal === 'number' && pidOrSignal !== this.pid) {
			throw Object.assign(new Error(`kill ESRCH`), { code: 'ESRCH', syscall: 'kill' });
		}
		const name = signalName(signal);
		if (this.exitCode !== undefined) return true;
		if (name !== 'SIGKILL' && name !== 'SIGSTOP' && this.listenerCount(name) > 0) {
			this.emit(name, name);
		} else if (name !== 'SIGCHLD' && name !== 'SIGWINCH' && name !== 'SIGURG' && name !== 'SIGCONT') {
			// Nobody listens: the default action, which for these signals is to terminate.
			this.signalCode = name;
			this.#setExit(128 + (signalNumbers[name] ?? 21));
		}
		return true;
	}

	exit(code: number = 0): void {
		this.#setExit(code);
	}

	emitWarning(warning: string | Error, options?: { code?: string } | string): void {
		const message = typeof warning === 'string' ? warning : warning.message;
		const code = typeof options === 'object' && options !== null ? options.code : undefined;
		this.warnings.push({ message, code });
	}

	/** Deliver an IPC message, as PM2 does with `'shutdown'`. */
	message(message: unknown): void {
		if (!this.channel) throw new Error('This fake process has no IPC channel; create it with { ipc: true }');
		this.emit('message', message);
	}

	/** Told by the proc bound to this fake when its sequence ends (exit.ts): the first report is kept. */
	[kTellReport](report: ShutdownReport): void {
		this.shutdownReport ??= report;
	}

	getActiveResourcesInfo(): string[] {
		return [...this.#activeResources];
	}

	/** Every event the fake has listeners for, other than EventEmitter's own: should be empty once a proc is done with it. */
	listenedEvents(): string[] {
		return this.eventNames().filter((name): name is string => typeof name === 'string' && this.listenerCount(name) > 0);
	}

	#setExit(code: number): void {
		if (this.exitCode !== undefined) return;
		this.exitCode = code;
		this.emit('exit', code);
		// A process that has exited listens for nothing: what a proc left installed went with it.
		this.removeAllListeners();
		this.#resolveExited(code);
	}
}

// What the fake's kill() and message() throw points at the caller's line, as process.kill()'s errors do.
methodsAtCallSite(FakeProcess.prototype, ['kill', 'message']);

export const createFakeProcess = /* @__PURE__ */ atCallSite(function createFakeProcess(options?: FakeProcessOptions): FakeProcess {
	return new FakeProcess(options);
});
