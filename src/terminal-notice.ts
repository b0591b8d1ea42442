/**
 * The one line a person at a terminal sees when Ctrl+C (or SIGTERM) starts the sequence: what the process
 * waits for, and that another Ctrl+C stops it at once. Only when stderr is a terminal: containers, pipes and
 * log files get nothing new.
 */
import type * as NodeTty from 'node:tty';

export interface TerminalNoticeInput {
	/** What started the sequence: the signal's name. */
	readonly reason: string;
	/** The listeners it waits for, by name, in registration order. */
	readonly pending: readonly string[];
	/** How long until the forced exit, at most. */
	readonly forceQuitInMs: number;
}

/** How many listeners the line names; the rest are counted. */
const NAMED = 3;

/** Whether file descriptor 2 is a terminal; false wherever that cannot be asked. */
export function stderrIsTerminal(): boolean {
	try {
		const tty = globalThis.process.getBuiltinModule('node:tty') as typeof NodeTty;
		return tty.isatty(2);
	} catch {
		return false;
	}
}

function seconds(ms: number): string {
	const s = ms / 1000;
	return `${s < 10 ? Number(s.toFixed(1)) : Math.round(s)} s`;
}

/** The line, ending with a newline, or undefined when stderr is not a terminal (`isTerminal`: for tests). */
export function terminalNotice({ reason, pending, forceQuitInMs }: TerminalNoticeInput, isTerminal = stderrIsTerminal()): string | undefined {
	if (!isTerminal) return undefined;
	const named = pending.slice(0, NAMED).join(', ');
	const more = pending.length > NAMED ? ` and ${pending.length - NAMED} more` : '';
	const waiting = pending.length === 0 ? 'stopping' : `stopping, waiting for ${named}${more}`;
	return `graceful-proc: ${reason}: ${waiting} (at most ${seconds(forceQuitInMs)}). Press Ctrl+C again to stop now (exit 1, pending listeners cut).\n`;
}
