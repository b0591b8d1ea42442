import fc from 'fast-check';
import { judgeRepeat, type RepeatVerdict } from '../../src/repeat-rule.js';
import { type SenderName, type SignalSenders, sendersOf } from '../../src/signal-senders.js';

/**
 * A small model of how each tool delivers a Ctrl+C to the app, from how it sends (docs/core.md, "A repeated
 * signal"): the terminal's copy, then the tool's own, after a lag. Two copies that reach the app before it took
 * the first merge into one (the kernel keeps one pending signal of each kind).
 */
export interface Press {
	/** When the press reached the app (ms after the first). */
	at: number;
	/** npm and node --watch: the forwarded copy's lag, or null when it merged with the terminal's. */
	forwardLag: number | null;
	/** nodemon: when its two copies follow the terminal's (ms after the press). */
	nodemonLags: [number, number];
}

const argvOf: Record<Exclude<SenderName, 'pm2'>, string[]> = {
	unknown: ['-bash'],
	npm: ['npm run dev'],
	'node --watch': ['node', '--watch', 'app.js'],
	nodemon: ['node', '/app/node_modules/.bin/nodemon', 'app.js'],
};
export const TERMINAL_SENDERS = Object.keys(argvOf) as Array<keyof typeof argvOf>;

export function sendersFor(sender: keyof typeof argvOf): SignalSenders {
	return sendersOf([{ pid: 4242, ppid: 1, pgrp: 4242, argv: argvOf[sender], startTime: 1, exiting: false }]);
}

/** The copies of Ctrl+C the app gets from one press, as arrival times. */
export function copiesOfPress(sender: keyof typeof argvOf, press: Press): number[] {
	if (sender === 'npm' || sender === 'node --watch') return press.forwardLag === null ? [press.at] : [press.at, press.at + press.forwardLag];
	if (sender === 'nodemon') return [press.at, press.at + press.nodemonLags[0], press.at + press.nodemonLags[0] + press.nodemonLags[1]];
	return [press.at];
}

/** Judges every copy after the first, in order of arrival; `senderGoneAt`: from when the sender is gone. */
export function judgeAll(senders: SignalSenders, arrivals: number[], senderGoneAt = Number.POSITIVE_INFINITY): RepeatVerdict[] {
	const sorted = [...arrivals].sort((a, b) => a - b);
	const first = { name: 'SIGINT', at: sorted[0]! };
	return sorted.slice(1).map((at, index) =>
		judgeRepeat({ first, seen: index + 1, name: 'SIGINT', at, senders: { ...senders, alive: senders.alive && at < senderGoneAt } }),
	);
}

/** Forwarders' copies come within 50 ms (measured with two CPU hogs), or merge; nodemon's after `ps` runs, any time. */
export const pressArb = (at: fc.Arbitrary<number>): fc.Arbitrary<Press> =>
	fc.record({
		at,
		forwardLag: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }),
		nodemonLags: fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 3000 })),
	});

/** One Ctrl+C, through whichever tool: every copy after the first is a duplicate. */
export function oneCtrlCIsOneSignal() {
	return fc.property(fc.constantFrom(...TERMINAL_SENDERS), pressArb(fc.constant(0)), (sender, press) => {
		return judgeAll(sendersFor(sender), copiesOfPress(sender, press)).every((verdict) => verdict === 'duplicate');
	});
}

/**
 * A second Ctrl+C, 150 ms or more after the first, always forces: some copy from the second press on is judged
 * `force`. Under nodemon, the second press ends nodemon (it listens for the first only), so copies it had
 * not sent yet never come.
 */
export function aSecondCtrlCForces() {
	return fc.property(
		fc.constantFrom(...TERMINAL_SENDERS),
		pressArb(fc.constant(0)),
		pressArb(fc.integer({ min: 150, max: 10_000 })),
		(sender, first, second) => {
			let arrivals = copiesOfPress(sender, first);
			let goneAt = Number.POSITIVE_INFINITY;
			if (sender === 'nodemon') {
				goneAt = second.at;
				arrivals = arrivals.filter((at) => at < second.at).concat(second.at);
			} else {
				arrivals = arrivals.concat(copiesOfPress(sender, second));
			}
			const sorted = [...arrivals].sort((a, b) => a - b);
			const verdicts = judgeAll(sendersFor(sender), arrivals, goneAt);
			return verdicts.some((verdict, index) => verdict === 'force' && sorted[index + 1]! >= second.at);
		},
	);
}
