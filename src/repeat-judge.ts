/**
 * The proc's judge of a repeated shutdown signal: it marks the first signal's turn of the loop, reads who may
 * send this process copies (signal-senders.ts) in an idle moment, and asks the rule (sequence.ts) whether a later
 * signal is a copy of the first or a person asking for the exit now.
 */
import { createDebug } from './debug.js';
import { isDuplicate, recordFirstSignal, type Sequence, type SignalArrivals } from './sequence.js';
import { type SignalSenders, sendersNow, signalSenders } from './signal-senders.js';
import type { ProcessLike } from './types.js';

const log = createDebug('proc');

export class RepeatJudge {
	readonly #process: ProcessLike;
	#readSoon = false;

	constructor(process: ProcessLike) {
		this.#process = process;
	}

	/**
	 * Who may send this process copies of a signal: the real process's, on Linux, read in an idle moment after the
	 * handlers are installed (about 0.1 ms, see readSoon), or at the first repeat if none came yet.
	 */
	#senders(): SignalSenders | undefined {
		return this.#process === globalThis.process ? signalSenders() : undefined;
	}

	/** Reads the senders once the handlers are installed, in an idle moment. */
	readSoon(): void {
		if (this.#readSoon || this.#process !== globalThis.process) return;
		this.#readSoon = true;
		setImmediate(() => this.#senders()).unref?.();
	}

	/** Records the first signal, and the turn of the loop it was handled in. */
	firstSignal(sequence: Sequence, name: string, arrivedAt: number, handledAt: number): void {
		recordFirstSignal(sequence, { name, arrivedAt, handledAt });
		// Closes after the loop has polled once more (a signal then waiting is read before the second immediate).
		// Not unref'd: with only unref'd immediates pending, the poll would wait, and the turn stay open until the
		// next thing to happen, a repeat included.
		sequence.firstSignalTurn = true;
		setImmediate(() => setImmediate(() => (sequence.firstSignalTurn = false)));
	}

	/** Whether a signal after the first is a copy of it (ignored) rather than a repeat (which forces the exit). */
	isDuplicate(sequence: Sequence, name: string, now: number, seen: SignalArrivals | undefined): boolean {
		const senders = this.#senders();
		const duplicate = isDuplicate(sequence, { name, now }, seen, senders && sendersNow(senders));
		if (log.enabled) log('%s is %s (senders: %s)', name, duplicate ? 'a copy of the first' : 'a repeat', senders?.sender ?? 'not known');
		return duplicate;
	}
}
