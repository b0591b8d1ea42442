/**
 * Who follows the sequence from outside the core (the systemd STATUS lines): told that something changed (the
 * state, or a listener settled), it reads a view of the sequence when it chooses to. Telling is O(1) per observer
 * and the view is read lazily, so the sequence pays nothing for an observer that waits before it reads.
 */
import type { ProcState } from './types.js';

/**
 * The proc's method that adds an observer and returns its remover. Registered, so that a module of one copy of the
 * package finds it on a proc made by another; an older copy without it is simply not observed.
 */
export const OBSERVE_SEQUENCE = Symbol.for('graceful-proc.observeSequence');

/** A listener as an observer sees it: its name and where it is (see ListenerEntry's statuses). */
export interface ObservedListener {
	readonly name: string;
	readonly status: string;
}

/** The sequence as it stands when the view is read. */
export interface SequenceView {
	readonly state: ProcState;
	/** What started it: the signal's name, `shutdown()`'s reason, or the error. */
	readonly reason: unknown;
	/** Epoch ms of the force-quit deadline. */
	readonly deadline: number;
	/** Every listener, in registration order. */
	readonly listeners: Iterable<ObservedListener>;
	/** How many final listeners there are: once `done` or `forced`, the last step runs when there are any. */
	readonly finalListeners: number;
}

export interface SequenceObserver {
	/**
	 * Something changed: the sequence started or moved to another state, or a listener settled. Called inside the
	 * sequence's own transitions: it must only take note (and read `view()` later, on a timer of its own).
	 */
	changed(view: () => SequenceView | undefined): void;
}

/** A proc that can be observed (see OBSERVE_SEQUENCE). */
export interface ObservableProc {
	[OBSERVE_SEQUENCE]?(observer: SequenceObserver): () => void;
}

/** The statuses of a listener that has been called and not settled: running, or waiting for those it runs after. */
export function isPending(listener: ObservedListener): boolean {
	return listener.status === 'running' || listener.status === 'waiting';
}

/** The statuses of a listener that has settled, well or not. */
export function hasSettled(listener: ObservedListener): boolean {
	return listener.status === 'ok' || listener.status === 'error' || listener.status === 'timeout';
}

/** A proc's observers. `view` reads the sequence; undefined before it starts. */
export class SequenceObservers {
	readonly #observers = new Set<SequenceObserver>();
	readonly #view: () => SequenceView | undefined;

	constructor(view: () => SequenceView | undefined) {
		this.#view = view;
	}

	add(observer: SequenceObserver): () => void {
		this.#observers.add(observer);
		return () => void this.#observers.delete(observer);
	}

	/** Tells every observer; what one throws changes nothing for the sequence or the others. */
	notify(): void {
		if (this.#observers.size === 0) return;
		for (const observer of this.#observers) {
			try {
				observer.changed(this.#view);
			} catch {}
		}
	}
}
