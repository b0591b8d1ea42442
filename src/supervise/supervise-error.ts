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
