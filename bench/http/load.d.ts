export interface LoadRecord {
	id: string;
	/** Handler time asked for. */
	ms: number;
	/** Milliseconds from the start of the run (see `origin`). */
	start: number;
	end: number;
	/** Sent after the trigger. */
	afterTrigger: boolean;
	/** Went out on a pooled connection that had carried requests before. */
	reused: boolean;
	/** Its bytes were handed to the socket. */
	sent: boolean;
	outcome: 'answered' | 'refused' | 'lost';
	error: string | undefined;
	/** The response said `Connection: close` (HTTP/2: its session got a GOAWAY). */
	close: boolean;
}

export interface LoadOptions {
	port: number;
	protocol?: 'http' | 'https' | 'h2';
	ca?: string | Buffer;
	loops?: number;
	sockets?: number;
	minMs?: number;
	maxMs?: number;
	thinkMs?: number;
	busyMs?: number;
	streamShare?: number;
	/** The warm-up lasts at least this long. */
	warmupMs?: number;
	/**
	 * The warm-up also lasts until this many requests were answered and every connection the clients hold has
	 * carried an answered request (none is left in the server's listen backlog): a handshake on the load itself.
	 */
	warmupAnswered?: number;
	/** A warm-up that has not reached `warmupAnswered` by then fails: runLoad rejects, and `trigger` is never called. */
	warmupLimitMs?: number;
	trigger?: () => void;
	until?: Promise<unknown>;
	afterTriggerMs?: number;
	/** Hard bound on the run from the trigger on. */
	limitMs?: number;
	hangMs?: number;
}

export interface LoadResult {
	requests: LoadRecord[];
	/** When `trigger` was called, in ms from `origin`. */
	triggerAt: number | undefined;
	/** The performance.now() that the times count from. */
	origin: number;
}

export interface LoadSummary {
	total: number;
	answered: number;
	refused: number;
	lost: number;
	lostSeen: number | undefined;
	lostReused: number;
	acceptedNotAnswered: number | undefined;
	lastAnswered: number;
}

export function runLoad(options: LoadOptions): Promise<LoadResult>;
export function summarize(requests: LoadRecord[], seen?: Set<string>): LoadSummary;
