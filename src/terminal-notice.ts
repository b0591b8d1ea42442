/**
 * The one line a person at a terminal sees when Ctrl+C (or SIGTERM) starts the sequence: what the process
 * waits for, and that another Ctrl+C stops it at once. Only when stderr is a terminal: containers, pipes and
 * log files get nothing new.
 */
import type * as NodeFs from 'node:fs';
import type * as NodeTty from 'node:tty';
import { granted } from './runtime-permissions.js';

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

/**
 * Whether file descriptor 2 is a terminal; false wherever that cannot be asked. Asked on the way out, so the
 * usual answer is cheap: a pipe or a file is not a character device (one fstat). Only for one (a terminal, or
 * /dev/null) is node:tty loaded, which takes about 2 ms the first time.
 */
export function stderrIsTerminal(): boolean {
	try {
		const fs = globalThis.process.getBuiltinModule('node:fs') as typeof NodeFs;
		const stat = fs.fstatSync(2);
		if (!stat.isCharacterDevice()) return false;
		// Where /dev/null may not be looked at without a prompt (Deno), node:tty answers alone.
		if (granted({ name: 'read', path: '/dev/null' }) && stat.rdev === fs.statSync('/dev/null').rdev) return false;
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

/** Whether stderr is a terminal, once asked: what fd 2 is does not change while the process runs. */
let stderrTerminal: boolean | undefined;

/**
 * Asks now, in an idle moment, what the first signal would ask: the answer (a stat of fd 2, about 0.3 ms the
 * first time) is then ready when the signal comes, rather than delaying the first listener.
 */
export function primeTerminalCheck(): void {
	stderrTerminal ??= stderrIsTerminal();
}

/** The signals a person sends from a terminal, which get the line. */
const FROM_A_PERSON = new Set(['SIGINT', 'SIGTERM']);

/**
 * Writes the line for a sequence that `signal` started, synchronously (it must come before anything the
 * listeners print), naming the listeners still running or not yet called. Nothing for other signals (nodemon's
 * restart signal), nothing when stderr is not a terminal; a failed write changes nothing.
 */
export function writeTerminalNotice(signal: string, listeners: Iterable<{ readonly status: string; readonly name: string }>, forceQuitInMs: number): void {
	if (!FROM_A_PERSON.has(signal) || !(stderrTerminal ??= stderrIsTerminal())) return;
	try {
		const pending: string[] = [];
		for (const listener of listeners) if (listener.status === 'running' || listener.status === 'registered' || listener.status === 'waiting') pending.push(listener.name);
		const line = terminalNotice({ reason: signal, pending, forceQuitInMs: Math.max(0, forceQuitInMs) }, true);
		if (line !== undefined) (globalThis.process.getBuiltinModule('node:fs') as typeof NodeFs).writeSync(2, line);
	} catch {}
}
