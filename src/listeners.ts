/**
 * The listener table: every listener of a proc in registration order (the report's order), how each is called
 * and settles, and the counts kept on every change so that a phase knows it is over, and a forced end inside a
 * blocked loop can say what was left, without a pass over every listener.
 */
import { createDebug } from './debug.js';
import { describeError } from './describe-error.js';
import { ForceQuitError, ListenerTimeoutError } from './errors.js';
import { Failure, ListenerContextImpl, ListenerEntry } from './listener-entry.js';
import { linkAfter, linked, mustWait, releasedBy, resolveAfter } from './listener-order.js';
import type { Listener, ListenerOptions, ListenerOutcome, Phase } from './types.js';

const log = createDebug('proc');

export class ListenerTable {
	/** Registration order, which is the report's order; a Set so that removing is O(1). Removed listeners leave it. */
	readonly entries = new Set<ListenerEntry>();
	/** Invariant: the entries whose status is 'registered' or 'waiting' (neither called nor removed): what a forced end skips. */
	registered = 0;
	/** Invariant: per phase, the entries whose status is 'running' or 'waiting'. A phase is over when its count is 0. */
	readonly running: Record<Phase, number> = { 'wrap-up': 0, shutdown: 0 };
	/** Invariant: the entries whose status is 'waiting' (their phase has come; a predecessor has not settled). */
	waiting = 0;
	/** The sequence's reason and deadline, kept for the listeners that start when their predecessors settle. */
	#reason: unknown = undefined;
	#deadline = 0;
	#forced = false;
	/** Invariant: the entries whose status is 'error' or 'timeout'. */
	failures = 0;
	/** Invariant: the entries whose status is 'timeout' (so `failures - timeouts` have 'error'). */
	timeouts = 0;
	/** Per phase, how many listeners were ever added: the number in an anonymous listener's name (`wrap-up#3`). */
	readonly #added: Record<Phase, number> = { 'wrap-up': 0, shutdown: 0 };
	/**
	 * Told when a settlement may move the sequence on: its phase has no listener left running, or the listener
	 * was removed; after every settlement once `tellEach` is set (an observer follows each one).
	 */
	readonly #onSettled: () => void;
	tellEach = false;

	constructor(onSettled: () => void) {
		this.#onSettled = onSettled;
	}

	add(phase: Phase, fn: Listener, options: ListenerOptions | undefined): ListenerEntry {
		// Checked first: a bad `after` registers nothing.
		const after = resolveAfter(options?.after, phase, this.entries);
		// An anonymous listener is numbered now; its name (`wrap-up#3`) is made when first needed.
		const number = (this.#added[phase] += 1);
		const entry = new ListenerEntry(phase, fn, options?.timeout, options?.name ?? (fn.name || number));
		if (after !== undefined) linkAfter(entry, after);
		this.entries.add(entry);
		this.registered += 1;
		if (log.enabled) log('added %s listener %s', phase, entry.name);
		return entry;
	}

	/** Takes out a listener not yet called; false for one that was called or removed already. */
	remove(entry: ListenerEntry): boolean {
		const wasWaiting = entry.status === 'waiting';
		if (entry.status !== 'registered' && !wasWaiting) return false;
		entry.status = 'removed';
		this.entries.delete(entry);
		this.registered -= 1;
		if (wasWaiting) this.#stopWaiting(entry);
		entry.removed();
		if (log.enabled) log('removed %s listener %s', entry.phase, entry.name);
		// Removed, it will never run: whoever waited for it may start, and a phase may be over.
		const released = this.#release(entry);
		if (wasWaiting || released) this.#onSettled();
		return true;
	}

	/** The names of the listeners neither called nor removed, in registration order. */
	registeredNames(): string[] {
		return [...this.entries].filter((entry) => entry.status === 'registered' || entry.status === 'waiting').map((entry) => entry.name);
	}

	/**
	 * Calls every listener of `phase` not called yet, concurrently. A copy of the table, walked by index: this runs
	 * once per process, so V8 runs it cold, and its interpreter steps a Set's iterator at several times the cost
	 * of an array index. A listener that adds or removes another meanwhile changes nothing here: one added is
	 * called when added, one removed is skipped by its status.
	 */
	callPhase(phase: Phase, reason: unknown, deadline: number): void {
		this.#reason = reason;
		this.#deadline = deadline;
		const entries = [...this.entries];
		for (let i = 0; i < entries.length; i++) {
			const entry = entries[i]!;
			if (entry.phase === phase && entry.status === 'registered') this.call(entry, reason, deadline);
		}
	}

	/** Calls one listener (or has it wait for those it runs after). `reason` and `deadline` are the sequence's. */
	call(entry: ListenerEntry, reason: unknown, deadline: number): void {
		if (linked && mustWait(entry)) {
			// Its phase has come: it counts as running, so the phase waits for it, but it is called only once
			// every listener it runs after has settled (#release).
			entry.status = 'waiting';
			this.running[entry.phase] += 1;
			this.waiting += 1;
			if (log.enabled) log('%s listener %s waits for the listeners it runs after', entry.phase, entry.name);
			return;
		}
		this.registered -= 1;
		entry.status = 'running';
		entry.startedAt = Date.now();
		this.running[entry.phase] += 1;
		let result: Promise<unknown>;
		try {
			result = Promise.resolve(entry.fn(new ListenerContextImpl(reason, deadline, entry)));
		} catch (error) {
			result = Promise.reject(error);
		}
		result.then(
			() => this.#settle(entry, 'ok'),
			(error: unknown) => this.#settle(entry, 'error', error),
		);
		if (entry.timeout !== undefined) {
			const ms = entry.timeout;
			// A timer of its own rather than p-timeout: p-timeout is not loaded unless health checks need it.
			entry.timer = setTimeout(() => {
				const error = new ListenerTimeoutError(entry.name, ms);
				entry.abort(error);
				this.#settle(entry, 'timeout', error);
			}, ms);
		}
	}

	/**
	 * A forced end, `ms` after the trigger: running listeners' signals abort and their waits reject; waits of those
	 * never called reject too. Errors are made only for the signals and waits somebody looks at: 100,000 stack
	 * traces would cost seconds. The statuses stay as they are, so the report says what was left.
	 */
	forceQuit(ms: number): void {
		// From here nobody is called: a predecessor that settles late releases no one.
		this.#forced = true;
		const skipped = new Failure(undefined, (entry) => new ForceQuitError(entry.name, ms, false));
		for (const entry of this.entries) {
			if (entry.status === 'running') entry.forceQuit(() => new ForceQuitError(entry.name, ms));
			else if (entry.status === 'registered' || entry.status === 'waiting') entry.failLazily(skipped);
		}
	}

	#settle(entry: ListenerEntry, outcome: ListenerOutcome, error?: unknown): void {
		// Only the first settlement counts: a listener that timed out may still settle. After a forced end the
		// report is already built, so a late settlement changes only the table.
		if (entry.status !== 'running') return;
		if (entry.timer !== undefined) clearTimeout(entry.timer);
		entry.status = outcome;
		const durationMs = (entry.durationMs = Date.now() - entry.startedAt!);
		this.running[entry.phase] -= 1;
		if (outcome === 'ok') {
			entry.fulfil();
			if (log.enabled) log('%s listener %s finished in %d ms', entry.phase, entry.name, durationMs);
		} else {
			this.failures += 1;
			if (outcome === 'timeout') this.timeouts += 1;
			entry.error = error;
			entry.fail(error);
			if (log.enabled) log('%s listener %s failed (%s) in %d ms: %s', entry.phase, entry.name, outcome, durationMs, describeError(error));
		}
		// Before the phase may end: a listener that waited for this one starts now, and keeps its phase open.
		if (linked) this.#release(entry);
		if (this.running[entry.phase] === 0 || this.tellEach) this.#onSettled();
	}

	/** Calls the waiting listeners that `settled` was the last to hold back; whether there were any. */
	#release(settled: ListenerEntry): boolean {
		if (this.#forced) return false;
		const released = releasedBy(settled);
		if (released.length === 0) return false;
		for (const entry of released) {
			this.#stopWaiting(entry);
			entry.status = 'registered';
			this.call(entry, this.#reason, this.#deadline);
		}
		return true;
	}

	#stopWaiting(entry: ListenerEntry): void {
		this.running[entry.phase] -= 1;
		this.waiting -= 1;
	}
}
