/**
 * The error of a supervised child that failed: given up on (`'fatal'`), or a replacement that did not take
 * over. It names the child and carries how its last run ended.
 */

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

/** How a run ended, for messages: `exit code 3` or `signal SIGKILL`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
	return signal === null ? `exit code ${code}` : `signal ${signal}`;
}
