/**
 * `run(main)`: the program's body under a proc. `main` is a wrap-up listener that a signal aborts; the process is
 * kept alive while it is pending, and its end starts the sequence (exit code 1 when it threw).
 */
import type { ProcImpl } from './proc.js';
import { kShutdownWithCode } from './sequence.js';
import { processWideProc } from './shared-instance.js';
import { procInForce } from './testing-protocol.js';
import type { Proc, ShutdownReport } from './types.js';
import { assertFunction, assertOptions, assertProc, assertString } from './validate.js';

export interface RunContext {
	/** Aborted when shutdown starts (a signal, `shutdown()`, or an error with `handleErrors`). */
	readonly signal: AbortSignal;
}

export interface RunOptions {
	/**
	 * The proc to run under.
	 * @default the process-wide proc
	 */
	proc?: Proc;
	/**
	 * The name of the wrap-up listener that waits for `main` to return.
	 * @default 'main'
	 */
	name?: string;
}

function isAbortOf(error: unknown, signal: AbortSignal): boolean {
	return signal.aborted && (error === signal.reason || (error instanceof Error && error.name === 'AbortError'));
}

/**
 * Runs `main(ctx)` as the program's body. A signal aborts `ctx.signal` and waits for `main` to return, as a
 * wrap-up listener; when `main` returns on its own, the shutdown sequence runs with exit code 0, and 1 when
 * it throws.
 */
export function run(main: (context: RunContext) => unknown, options?: RunOptions): Promise<ShutdownReport> {
	assertFunction('main', main);
	assertOptions('options', options, ['proc', 'name']);
	const proc = options?.proc ?? procInForce(processWideProc());
	assertProc('options.proc', proc);
	const name = options?.name ?? 'main';
	assertString('options.name', name);

	const controller = new AbortController();
	let adopt!: (result: Promise<unknown>) => void;
	const finished = new Promise<unknown>((resolve) => {
		adopt = resolve;
	});
	// Registered before main runs: a signal that arrives once main has started must find a handler, not
	// Node's default action (main may announce itself, and a supervisor may answer with SIGTERM at once).
	proc.addWrapUpListener(
		async (ctx) => {
			controller.abort(ctx.reason);
			try {
				await finished;
			} catch (error) {
				// Returning by way of the abort it was asked for is a clean stop, not a failure.
				if (!isAbortOf(error, controller.signal)) throw error;
			}
		},
		{ name },
	);
	// main may await nothing but its signal (a worker waiting to be told to stop): a promise holds no event loop
	// open, so without this the process would exit 0 at once, before any signal and with no listener run.
	const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
	void finished.then(
		() => clearInterval(keepAlive),
		() => clearInterval(keepAlive),
	);
	try {
		adopt(Promise.resolve(main({ signal: controller.signal })));
	} catch (error) {
		adopt(Promise.reject(error));
	}
	const withCode = (proc as Partial<ProcImpl>)[kShutdownWithCode]?.bind(proc) ?? ((reason: unknown) => proc.shutdown(reason));
	return finished.then(
		() => withCode(`${name} returned`, 0),
		(error: unknown) => withCode(error, controller.signal.aborted ? 0 : 1),
	);
}
