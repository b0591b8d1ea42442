/**
 * The error of a supervised child that failed: given up on (`'fatal'`), or a replacement that did not take
 * over. It names the child and carries how its last run ended; a handle gone `'fatal'` tells of it here.
 */
import type { EventEmitter } from 'node:events';
import { createDebug } from '../debug.js';

const log = createDebug('supervise');

/** Why a supervised child went `'fatal'`: it could not be spawned, or it failed too many starts in a row. */
export class SuperviseError extends Error {
	override name = 'SuperviseError';
	/** The child's name. */
	readonly child: string;
	/** The last exit code, when the child ran at all. */
	readonly exitCode: number | null;
	/** The signal that ended the child's last run, if one did. */
	readonly signalCode: NodeJS.Signals | null;

	constructor(
		message: string,
		details: { child: string; exitCode?: number | null; signalCode?: NodeJS.Signals | null; cause?: unknown },
	) {
		super(message, details.cause === undefined ? undefined : { cause: details.cause });
		this.child = details.child;
		this.exitCode = details.exitCode ?? null;
		this.signalCode = details.signalCode ?? null;
	}
}

/**
 * Tells of a handle gone `'fatal'`: an `'error'` event where someone listens. One nobody listens to would crash the
 * parent, which is worse than the child being gone: without a listener the state says it, and a process warning shows it.
 */
export function emitFatal(handle: EventEmitter, name: string, error: SuperviseError): void {
	if (handle.listenerCount('error') > 0) {
		handle.emit('error', error);
	} else {
		log('%s: %s', name, error.message);
		process.emitWarning(error.message, { code: 'GRACEFUL_PROC_SUPERVISE_FATAL', type: 'SuperviseError' });
	}
}

/** How a run ended, for messages: `exit code 3` or `signal SIGKILL`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
	return signal === null ? `exit code ${code}` : `signal ${signal}`;
}
