// The error a drain's listener fails with when the deadline cut requests that were still running.

/** The drain ran out of time and cut requests that were still running; the listener fails with it. */
export class DrainTimeoutError extends Error {
	override name = 'DrainTimeoutError';
	/** Requests (HTTP/2: streams) that were still running when their connections were destroyed. */
	readonly requests: number;

	constructor(serverName: string, requests: number, afterMs: number) {
		super(
			`\`${serverName}\`: ${requests} ${requests === 1 ? 'request was' : 'requests were'} still running ` +
				`${afterMs} ms into the shutdown and ${requests === 1 ? 'was' : 'were'} cut`,
		);
		this.requests = requests;
	}
}
