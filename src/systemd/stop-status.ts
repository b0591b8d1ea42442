// What systemd hears while the sequence runs: STOPPING=1 at once, then a STATUS= line per phase and count (the one
// `systemctl status` shows), and EXTEND_TIMEOUT_USEC= each time the sequence made progress, never past our own
// deadline. Throttled, one systemd-notify at a time, on unref'd timers: it never holds the sequence or the exit up.
import { createDebug } from '../debug.js';
import { drainsInProgress, watchDrains } from '../drains-in-progress.js';
import { hasSettled, isPending, OBSERVE_SEQUENCE, type ObservableProc, type SequenceView } from '../sequence-observer.js';
import type { Proc } from '../types.js';
import { type NotifyFields, sdNotify } from './notify.js';

const log = createDebug('systemd');

/** At most one message per this many ms: `systemctl status` is read by people, and each message is a process. */
export const STATUS_INTERVAL_MS = 250;

/**
 * The most one extension asks for. systemd's stop timeout becomes the later of `TimeoutStopSec` and this long
 * after the last progress: a sequence that stops making progress is still ended by systemd, this long after.
 */
export const RENEWAL_MS = 5000;

/**
 * How far past our deadline an extension may reach: the forced exit is done within a second of the deadline, with
 * the report written. Asking for less would let systemd's SIGKILL race our own forced exit and lose the report.
 */
export const EXIT_ALLOWANCE_MS = 1000;

/** How many listeners a STATUS line names; the rest are counted. */
const NAMED = 3;

/** What started the sequence, in a word. */
export function describeReason(reason: unknown): string {
	if (typeof reason === 'string') return reason;
	if (reason instanceof Error) return reason.name;
	return 'shutdown()';
}

function count(n: number, what: string): string {
	return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function pendingPart(listeners: Iterable<{ name: string; status: string }>): string {
	const pending: string[] = [];
	for (const listener of listeners) if (isPending(listener)) pending.push(listener.name);
	if (pending.length === 0) return 'nothing pending';
	const more = pending.length > NAMED ? ` and ${pending.length - NAMED} more` : '';
	return `${count(pending.length, 'listener')} pending (${pending.slice(0, NAMED).join(', ')}${more})`;
}

/**
 * The STATUS line for the sequence as it stands, or undefined when there is nothing left to say (it has ended and
 * no last step runs: the process is on its way out).
 */
export function stopStatus(view: SequenceView, drains: { drains: number; requests: number; connections: number }): string | undefined {
	const why = describeReason(view.reason);
	// A drain is a wrap-up listener, and may outlast the wrap-up time: it is shown for as long as it runs.
	const draining = drains.drains > 0 ? `draining ${count(drains.requests, 'request')}, ${count(drains.connections, 'connection')}; ` : '';
	switch (view.state) {
		case 'wrapping-up':
			return `wrapping up (${why}): ${draining}${pendingPart(view.listeners)}`;
		case 'shutting-down':
			return `shutting down (${why}): ${draining}${pendingPart(view.listeners)}`;
		case 'done':
		case 'forced':
			return view.finalListeners > 0 ? `final step (${why}${view.state === 'forced' ? ', forced' : ''}): ${count(view.finalListeners, 'final listener')}` : undefined;
		default:
			return undefined;
	}
}

/** EXTEND_TIMEOUT_USEC for a renewal at `now`: RENEWAL_MS, never past the deadline's allowance; undefined when none is left. */
export function extensionUsec(now: number, deadline: number): number | undefined {
	const ms = Math.min(RENEWAL_MS, deadline + EXIT_ALLOWANCE_MS - now);
	return ms > 0 ? Math.floor(ms) * 1000 : undefined;
}

function settledCount(view: SequenceView): number {
	let settled = 0;
	for (const listener of view.listeners) if (hasSettled(listener)) settled += 1;
	return settled;
}

export interface StopStatusOptions {
	/** Sends one message; resolves once it went out (sdNotify). */
	readonly send?: (fields: NotifyFields) => Promise<void>;
	/** What the drains in progress hold (drains-in-progress.ts). */
	readonly drains?: () => { drains: number; requests: number; connections: number };
	/** Hears of every step of every drain; returns the remover. */
	readonly watchDrains?: (watcher: () => void) => () => void;
}

/**
 * Follows one proc's sequence from its start (`start()`, at the trigger) for systemd. Everything it does happens on
 * its own turn of the event loop: the sequence only tells it that something changed.
 */
export class StopStatus {
	readonly #proc: Proc;
	readonly #send: (fields: NotifyFields) => Promise<void>;
	readonly #drains: () => { drains: number; requests: number; connections: number };
	readonly #watchDrains: (watcher: () => void) => () => void;
	#view: (() => SequenceView | undefined) | undefined;
	readonly #unsubscribe: Array<() => void> = [];
	#stopping = true;
	/** A flush is scheduled (timer or microtask), or a message is out: a change now is picked up after it. */
	#scheduled = false;
	#sending = false;
	#dirty = false;
	#lastSentAt = Number.NEGATIVE_INFINITY;
	#lastStatus: string | undefined;
	#timer: ReturnType<typeof setTimeout> | undefined;
	/** Progress since the last renewal: a drain's step, or a listener settled (counted from the view). */
	#progressed = false;
	#settled = 0;
	#ended = false;

	constructor(proc: Proc, options: StopStatusOptions = {}) {
		this.#proc = proc;
		this.#send = options.send ?? sdNotify;
		this.#drains = options.drains ?? drainsInProgress;
		this.#watchDrains = options.watchDrains ?? watchDrains;
	}

	/** The sequence started: STOPPING=1 goes out once the trigger's synchronous part is over, with the first STATUS. */
	start(): void {
		const observe = (this.#proc as ObservableProc)[OBSERVE_SEQUENCE];
		// A proc of an older copy cannot be observed: it still gets STOPPING=1, and a STATUS from the reason.
		if (typeof observe === 'function') {
			this.#unsubscribe.push(
				observe.call(this.#proc, {
					changed: (view) => {
						this.#view = view;
						this.#schedule();
					},
				}),
			);
		}
		this.#unsubscribe.push(
			this.#watchDrains(() => {
				this.#progressed = true;
				this.#schedule();
			}),
		);
		// A microtask, not a timer: the listeners have been called by then, and the message is spawned before any
		// timer of the application runs.
		this.#scheduled = true;
		queueMicrotask(() => this.#flush());
	}

	#schedule(): void {
		if (this.#ended) return;
		if (this.#scheduled || this.#sending) {
			this.#dirty = true;
			return;
		}
		this.#scheduled = true;
		this.#timer = setTimeout(() => this.#flush(), Math.max(0, this.#lastSentAt + STATUS_INTERVAL_MS - Date.now()));
		this.#timer.unref?.();
	}

	#flush(): void {
		this.#scheduled = false;
		this.#timer = undefined;
		this.#dirty = false;
		const fields = this.#takeMessage(Date.now());
		if (fields === undefined) return;
		this.#sending = true;
		this.#lastSentAt = Date.now();
		const sent = () => {
			this.#sending = false;
			if (this.#dirty) this.#schedule();
		};
		// sdNotify never rejects; a sender that does must not stop the next message either.
		void this.#send(fields).then(sent, sent);
	}

	/** The next message, or undefined when there is nothing new to say; what it says counts as said. */
	#takeMessage(now: number): NotifyFields | undefined {
		const view = this.#view?.();
		const fields: Record<string, string | number> = {};
		if (this.#stopping) fields.STOPPING = 1;
		this.#stopping = false;
		const status = view === undefined ? `stopping (${describeReason(this.#proc.signal.reason)})` : stopStatus(view, this.#drains());
		if (view !== undefined) {
			const settled = settledCount(view);
			if (settled > this.#settled) this.#progressed = true;
			this.#settled = settled;
			// The process is on its way out, or in its last step: nothing more will be said after this.
			if (view.state === 'done' || view.state === 'forced') this.#end();
		}
		if (status !== undefined && (status !== this.#lastStatus || this.#progressed)) fields.STATUS = status;
		this.#lastStatus = status ?? this.#lastStatus;
		const deadline = view?.deadline ?? this.#proc.deadline;
		if (this.#progressed && deadline !== undefined && status !== undefined) {
			const usec = extensionUsec(now, deadline);
			if (usec !== undefined) {
				fields.EXTEND_TIMEOUT_USEC = usec;
				const iso = (ms: number) => new Date(ms).toISOString();
				if (log.enabled) log('extension of %d ms after progress, from %s to %s (the deadline: %s)', usec / 1000, iso(now), iso(now + usec / 1000), iso(deadline));
			}
		}
		this.#progressed = false;
		return Object.keys(fields).length > 0 ? fields : undefined;
	}

	#end(): void {
		this.#ended = true;
		clearTimeout(this.#timer);
		for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
	}
}
