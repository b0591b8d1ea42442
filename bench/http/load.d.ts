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
	warmupMs?: number;
	trigger?: () => void;
	until?: Promise<unknown>;
	afterTriggerMs?: number;
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
