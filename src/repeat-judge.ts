/**
 * The proc's judge of a repeated shutdown signal: it marks the first signal's turn of the loop, reads who may
 * send this process copies (signal-senders.ts) in an idle moment, and asks the rule (sequence.ts) whether a later
 * signal is a copy of the first or a person asking for the exit now.
 */
import { createDebug } from './debug.js';
import { idleSoon } from './idle-soon.js';
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
		idleSoon(() => this.#senders());
	}

	/** Records the first signal, and the turn of the loop it was handled in. */
	/** `takenAt`: when the first signal's handler began; `handledAt`: when it returned. */
	firstSignal(sequence: Sequence, name: string, arrivedAt: number, takenAt: number, handledAt: number): void {
		recordFirstSignal(sequence, { name, arrivedAt, handledAt });
		// Open until the loop has polled once more: a signal waiting then is read before the second immediate runs.
		// The timer closes it sooner when timers of the application run first (they may keep the loop busy
		// meanwhile, and a signal arriving then is not one that waited for the first signal's handler). Node counts
		// a timer from the loop's clock, which stood still while the handler ran: its delay makes up for that, so
		// that it comes due a millisecond after the handler returned. Neither is unref'd: with nothing but unref'd
		// callbacks pending, the poll would wait, and the turn stay open until the next event, a repeat too.
		sequence.firstSignalTurn = true;
		const close = () => (sequence.firstSignalTurn = false);
		const timer = setTimeout(close, Math.max(0, handledAt - takenAt) + 1);
		setImmediate(() => setImmediate(() => (close(), clearTimeout(timer))));
	}

	/** Whether a signal after the first is a copy of it (ignored) rather than a repeat (which forces the exit). */
	isDuplicate(sequence: Sequence, name: string, now: number, seen: SignalArrivals | undefined): boolean {
		const senders = this.#senders();
		const duplicate = isDuplicate(sequence, { name, now }, seen, senders && sendersNow(senders));
		if (log.enabled) {
			const readings = `first arrived ${sequence.firstSignalAt}, handled until ${sequence.firstSignalDoneAt}, now ${now}, turn ${sequence.firstSignalTurn}, thread ${seen ? `${seen.count}: ${seen.at.join(', ')}` : 'none'}`;
			log('%s is %s (senders: %s; %s)', name, duplicate ? 'a copy of the first' : 'a repeat', senders?.sender ?? 'not known', readings);
		}
		return duplicate;
	}
}
