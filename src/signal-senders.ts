/**
 * Which tool above this process may send it more than one copy of a stop signal, and how many copies, of
 * which signals, within what time: what a repeated signal is judged against (see repeat-rule.ts). Read from
 * the parent's command line on Linux, once, when asked; undefined elsewhere.
 */
import { parentChain, type ProcessInfo, stillRunning } from './process-tree.js';
import { isNodemon, isNodeWatch, isNpm, isPm2, isShell } from './tool-commands.js';

/** The tools we know the sending habits of; `unknown`: a parent we do not know to repeat a signal. */
export type SenderName = 'nodemon' | 'npm' | 'node --watch' | 'pm2' | 'unknown';

/** What may follow a first signal: up to `count` more signals, each one of `names`, within `withinMs` of the first. */
export interface Copies {
	readonly count: number;
	/** `'same'`: the first signal's own name. */
	readonly names: 'same' | readonly string[];
	/** Counted from the first signal's arrival; Infinity: for as long as the sender is there. */
	readonly withinMs: number;
}

export interface SignalSenders {
	readonly sender: SenderName;
	/** The sending process, so that a copy is only expected while it is there (undefined for `unknown`). */
	readonly process: Pick<ProcessInfo, 'pid' | 'startTime'> | undefined;
	/** Whether the sender was there, and not exiting, when last looked at (see `sendersNow`). */
	readonly alive: boolean;
	/** What may follow each first signal, by its name; `otherwise` for the rest. */
	readonly copies: Readonly<Record<string, Copies>>;
	readonly otherwise: Copies;
}

const NONE: Copies = { count: 0, names: 'same', withinMs: 0 };

/**
 * One signal delivered twice at about the same moment (a terminal and a forwarding parent): the copy comes
 * within this long of the first. A person cannot press Ctrl+C twice that fast. Under a parent we do not know,
 * one such copy of the same signal is the same signal; where the senders cannot be read, any repeat this soon is.
 */
export const DUPLICATE_SIGNAL_MS = 100;
const UNKNOWN: Copies = { count: 1, names: 'same', withinMs: DUPLICATE_SIGNAL_MS };

/**
 * npm (`npm run`, `npm start`, `npx`) and `node --watch` forward every SIGINT and SIGTERM they get to the child
 * they started, from their own signal handler. A Ctrl+C reaches both them and the app (one process group), so
 * the app gets the terminal's copy and theirs; a SIGTERM to the whole group or cgroup (systemd's default
 * KillMode) does the same. Their copy comes within a few milliseconds (at most 50 ms measured with two CPU
 * hogs on two cores), or merges with the terminal's into one when it comes before the app took the first (the
 * kernel keeps one pending signal of each kind): so copies cannot be counted, only timed.
 * SIGINT: a second Ctrl+C must stop the app, and a person's second press comes 150 ms or more after the first,
 * so the window stays at 100 ms. SIGTERM: nobody presses it; a second one within a second is the forwarder's.
 */
const FORWARDER_SIGTERM_MS = 1000;
const FORWARDER: Pick<SignalSenders, 'copies' | 'otherwise'> = {
	copies: {
		SIGINT: { count: 1, names: 'same', withinMs: DUPLICATE_SIGNAL_MS },
		SIGTERM: { count: 1, names: 'same', withinMs: FORWARDER_SIGTERM_MS },
	},
	otherwise: UNKNOWN,
};

/**
 * nodemon (3.x, on Linux and macOS) stops its child by running `ps`, sending the signal (`child.kill`), then
 * running `ps` again until the child's own children are gone (every second) and sending it once more with
 * `exec('kill -<SIG> <pid>')`. The second copy came 5 to 45 ms after the first quiet, up to 206 ms with two CPU
 * hogs, and a second or more when the app has child processes of its own, since nodemon waits for those: no
 * fixed time bounds it. So its copies are counted, not timed, and expected only while nodemon is there.
 * - its restart signal (SIGUSR2 unless `--signal` says otherwise): one more copy;
 * - Ctrl+C: the terminal's copy, then nodemon's two (it stops its child with SIGINT): two more;
 * - SIGTERM to nodemon: it passes SIGTERM on at once, then stops the child with SIGINT, twice: three more.
 * A second Ctrl+C ends nodemon itself (it listens for the first only), so a copy that arrives once nodemon is
 * gone or exiting is not nodemon's: it forces the exit.
 */
const WHILE_THERE = Number.POSITIVE_INFINITY;
const NODEMON: Pick<SignalSenders, 'copies' | 'otherwise'> = {
	copies: {
		SIGINT: { count: 2, names: ['SIGINT'], withinMs: WHILE_THERE },
		SIGTERM: { count: 3, names: ['SIGINT', 'SIGTERM'], withinMs: WHILE_THERE },
	},
	otherwise: { count: 1, names: 'same', withinMs: WHILE_THERE },
};

/** PM2 sends its stop signal (SIGINT) once, to the app and its descendants, and SIGKILL after `kill_timeout`. */
const PM2: Pick<SignalSenders, 'copies' | 'otherwise'> = { copies: {}, otherwise: NONE };

/** Who sends this process its signals, judged from its parent (and, past a shell, the shell's parent). */
export function identifySender(chain: readonly ProcessInfo[]): { sender: SenderName; process: ProcessInfo | undefined } {
	const parent = chain[0];
	if (parent === undefined) return { sender: 'unknown', process: undefined };
	if (isNodemon(parent.argv)) return { sender: 'nodemon', process: parent };
	// nodemon runs a command that is not plain `node script` through `sh -c`: the app then sits below the shell,
	// and nodemon sends its signals to every process below its child, the app included.
	const grandparent = chain[1];
	if (isShell(parent.argv) && grandparent !== undefined && isNodemon(grandparent.argv)) return { sender: 'nodemon', process: grandparent };
	// npm and node --watch forward to their own child only: with a shell between (Debian's sh does not replace
	// itself with the command), the shell gets their copy, and the app only the terminal's.
	if (isNpm(parent.argv)) return { sender: 'npm', process: parent };
	if (isNodeWatch(parent.argv)) return { sender: 'node --watch', process: parent };
	if (isPm2(parent.argv)) return { sender: 'pm2', process: parent };
	return { sender: 'unknown', process: undefined };
}

const HABITS: Record<SenderName, Pick<SignalSenders, 'copies' | 'otherwise'>> = {
	nodemon: NODEMON,
	npm: FORWARDER,
	'node --watch': FORWARDER,
	pm2: PM2,
	unknown: { copies: {}, otherwise: UNKNOWN },
};

/** The senders of a process whose parent chain is `chain` (nearest first). */
export function sendersOf(chain: readonly ProcessInfo[]): SignalSenders {
	const { sender, process } = identifySender(chain);
	const habits = HABITS[sender];
	return { sender, process: process && { pid: process.pid, startTime: process.startTime }, alive: true, ...habits };
}

/**
 * This process's senders, read from /proc (Linux); undefined where that cannot be read, and the caller keeps
 * the rule that needs no knowledge of the senders. A few reads of small files, about a tenth of a millisecond.
 */
export function readSignalSenders(): SignalSenders | undefined {
	if (globalThis.process?.platform !== 'linux') return undefined;
	const chain = parentChain();
	// No parent to be seen (no /proc): nothing can be said of who sends.
	if (chain.length === 0 && globalThis.process.ppid > 1) return undefined;
	return sendersOf(chain);
}

let read: { senders: SignalSenders | undefined } | undefined;

/** This process's senders, read once (see readSignalSenders): the tools above a process do not change. */
export function signalSenders(): SignalSenders | undefined {
	read ??= { senders: readSignalSenders() };
	return read.senders;
}

/** What may follow `first`, by these senders. */
export function copiesAfter(senders: SignalSenders, first: string): Copies {
	return senders.copies[first] ?? senders.otherwise;
}

/** The senders as they are now: a sender that has gone, or is exiting, sends nothing more. */
export function sendersNow(senders: SignalSenders): SignalSenders {
	if (senders.process === undefined || !senders.alive) return senders;
	return stillRunning(senders.process) ? senders : { ...senders, alive: false };
}
