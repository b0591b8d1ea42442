/**
 * The short text a failed or forced shutdown prints on the logger, one screen however many listeners there are,
 * and the lines the termination message shares with it.
 */
import { describeError } from './describe-error.js';
import type { ListenerReport, ShutdownReport } from './types.js';

/** Listeners named one per line; past this, the rest are counted, so 100,000 pending listeners stay one screen. */
export const SUMMARY_LISTENER_LINES = 20;

/** The reason in one line: a signal name, `Error: message`, or the value given to `shutdown()`. */
export function describeReason(reason: unknown): string {
	if (reason === undefined) return 'shutdown()';
	return describeError(reason, { maxLength: 300 }).split('\n', 1)[0]!;
}

/** The lines of an Error reason's stack trace that say where it came from (`    at ...`), if it has one. */
function stackFrames(reason: unknown): string[] {
	if (reason === null || typeof reason !== 'object') return [];
	const stack = describeError(reason, { stack: true, maxLength: 4000 });
	const lines = stack.split('\n');
	const first = lines.findIndex((line) => /^\s+at /.test(line));
	return first === -1 ? [] : lines.slice(first).map((line) => `    ${line.trim()}`);
}

export function headLine(report: ShutdownReport): string {
	const reason = describeReason(report.reason);
	return report.outcome === 'forced'
		? `shutdown forced after ${report.durationMs} ms (reason: ${reason}), exit code ${report.exitCode}, forcedBy: ${report.forcedBy ?? 'deadline'}`
		: `shutdown ${report.outcome} in ${report.durationMs} ms (reason: ${reason}), exit code ${report.exitCode}`;
}

export function listenerLine(listener: ListenerReport): string {
	const detail = listener.outcome === 'error' || listener.outcome === 'timeout' ? `: ${describeError(listener.error, { maxLength: 500 }).split('\n', 1)[0]}` : '';
	return `${listener.outcome.padEnd(7)} ${listener.name} (${listener.phase}, ${listener.durationMs} ms)${detail}`;
}

/** `12 pending, 3 skipped`: how many of each outcome, in a stable order. */
export function countLine(counts: Map<string, number>): string {
	return [...counts].map(([outcome, n]) => `${n} ${outcome}`).join(', ');
}

/**
 * How many listeners of each outcome a report leaves out: a forced end inside a blocked loop builds its summary
 * from the first listeners that did not end well and counts the rest, since code run there (from an interrupt
 * of the blocked code) is slow: one pass over 100,000 listeners measured 200-300 ms.
 */
export type Omitted = ReadonlyMap<string, number>;

/** `more` plus what the report left out. */
export function addOmitted(more: Map<string, number>, omitted: Omitted | undefined): Map<string, number> {
	if (omitted) for (const [outcome, n] of omitted) if (n > 0) more.set(outcome, (more.get(outcome) ?? 0) + n);
	return more;
}

/** `Timeout ×3, TCPServerWrap`: the same resource named once, with how many there are. */
function groupResources(resources: readonly string[]): string {
	const counts = new Map<string, number>();
	for (const name of resources) counts.set(name, (counts.get(name) ?? 0) + 1);
	return [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(', ');
}

/**
 * The short text a failed or forced shutdown prints: one line, the reason's stack trace when it is an Error,
 * then one line per listener that did not end well, up to a screenful; the rest are counted.
 */
export function formatSummary(report: ShutdownReport, omitted?: Omitted): string {
	const lines = [`graceful-proc: ${headLine(report)}`, ...stackFrames(report.reason)];
	const more = new Map<string, number>();
	let shown = 0;
	for (const listener of report.listeners) {
		if (listener.outcome === 'ok') continue;
		if (shown < SUMMARY_LISTENER_LINES) {
			lines.push(`  ${listenerLine(listener)}`);
			shown += 1;
		} else {
			more.set(listener.outcome, (more.get(listener.outcome) ?? 0) + 1);
		}
	}
	addOmitted(more, omitted);
	if (more.size > 0) lines.push(`  … and ${[...more.values()].reduce((a, b) => a + b)} more: ${countLine(more)}`);
	if (report.activeResources && report.activeResources.length > 0) {
		lines.push(`  still keeping the event loop alive: ${groupResources(report.activeResources)}`);
	}
	return lines.join('\n');
}
