/**
 * How the core speaks: the application's logger (stderr by default), called so that nothing it throws or
 * rejects with can break the sequence; a coded process warning for times that do not fit; the diagnostic report.
 */
import { createDebug } from './debug.js';
import { describeError } from './describe-error.js';
import { TIMES_DO_NOT_FIT } from './time-budget.js';
import type { Logger, ProcessLike } from './types.js';

const log = createDebug('proc');

export const stderrLogger: Logger = {
	error(message) {
		globalThis.process?.stderr?.write(`${message}\n`);
	},
};

/** Whatever an application hook returns: a rejected promise must not become an unhandled rejection. */
export function absorb(result: unknown, onRejected: (error: unknown) => void): void {
	try {
		if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as PromiseLike<unknown>).then === 'function') {
			(result as PromiseLike<unknown>).then(undefined, onRejected);
		}
	} catch {}
}

/** One message to the logger, if there is one; whatever it throws or rejects with is dropped. */
export function writeLog(logger: Logger | false, message: string): void {
	if (!logger) return;
	try {
		absorb(logger.error(message), () => {});
	} catch {}
}

/** Times that cannot hold what was registered: a process warning with a code, or a debug line where there is none. */
export function warnTimes(process: ProcessLike, message: string): void {
	const emit = (process as { emitWarning?: (message: string, options: { code: string }) => void }).emitWarning;
	if (typeof emit === 'function') emit.call(process, message, { code: TIMES_DO_NOT_FIT });
	else log('%s', message);
}

/** Node's diagnostic report, on the signal configured for it; the logger says where it went. */
export function writeDiagnosticReport(process: ProcessLike, say: (message: string) => void): void {
	try {
		const file = process.report?.writeReport?.();
		// Node returns the file it wrote; a runtime without the report (Deno) returns nothing and writes nothing.
		say(file ? `graceful-proc: diagnostic report written to ${file}` : 'graceful-proc: no diagnostic report: this runtime wrote none');
	} catch (error) {
		say(`graceful-proc: diagnostic report failed: ${describeError(error)}`);
	}
}
