/**
 * The rule for a signal that arrives while the sequence runs: one more copy of the first, sent by a tool on
 * its own (a duplicate, ignored), or somebody asking again (forces the exit). Pure: the caller says when
 * each arrived and who may send copies (signal-senders.ts); docs/core.md, "A repeated signal", says why.
 */
import { copiesAfter, DUPLICATE_SIGNAL_MS, type SignalSenders } from './signal-senders.js';

export { DUPLICATE_SIGNAL_MS };

export interface RepeatInput {
	/** The signal that started the sequence, and when it arrived (epoch ms). */
	readonly first: { readonly name: string; readonly at: number };
	/** Signals handled before this one, the first included (so at least 1). */
	readonly seen: number;
	/** This signal, and when it arrived (epoch ms; the best estimate the caller has). */
	readonly name: string;
	readonly at: number;
	/** Who may send copies, as they are now; undefined where that is not known (not Linux, a test's process). */
	readonly senders: SignalSenders | undefined;
}

export type RepeatVerdict = 'duplicate' | 'force';

/**
 * A repeat is a duplicate when a known sender may still send it: it is one of the names that sender sends
 * after this first signal, no more of them have come than it sends, it came within the sender's time, and the
 * sender is still there. Everything else forces. Without knowledge of the senders, a repeat of any signal
 * within DUPLICATE_SIGNAL_MS of the first is a duplicate.
 */
export function judgeRepeat({ first, seen, name, at, senders }: RepeatInput): RepeatVerdict {
	const since = at - first.at;
	if (senders === undefined) return since < DUPLICATE_SIGNAL_MS ? 'duplicate' : 'force';
	if (!senders.alive) return 'force';
	const copies = copiesAfter(senders, first.name);
	const named = copies.names === 'same' ? name === first.name : copies.names.includes(name);
	const counted = seen - 1 < copies.count;
	return named && counted && since < copies.withinMs ? 'duplicate' : 'force';
}
