/**
 * The shutdown report, built in one place: one row per listener, and one report around the rows, for the full
 * report, the brief one that a forced end inside a blocked loop announces, and the time-boxed one it builds for
 * `onReport` when there is time. The report, and each row on its own, serializes with each error's name, message,
 * stack and cause (error-json.ts), while `error` stays the value the listener threw.
 */
import { createDebug } from './debug.js';
import { errorToJSON } from './error-json.js';
import { waitingOn } from './listener-order.js';
import type { ListenerEntry } from './listener-entry.js';
import type { ListenerTable } from './listeners.js';
import { appExitCode, endsFailed, exitCodeOf, type Sequence } from './sequence.js';
import type { Omitted } from './summary.js';
import type { ForcedBy, ListenerReport, ProcessLike, ShutdownReport } from './types.js';

const log = createDebug('proc');

/** How many listeners a forced end inside a blocked loop names; the summary and the termination message count the rest. */
export const BRIEF_LISTENERS = 200;

/** Until when past the deadline a forced end inside a blocked loop may build the full report for onReport. */
export const BLOCKED_REPORT_MS = 700;

function rowToJSON(this: ListenerReport) {
	return { ...this, error: errorToJSON(this.error) };
}

function reportToJSON(this: ShutdownReport) {
	return { ...this, reason: errorToJSON(this.reason) };
}

/** What still keeps the event loop alive, as a forced report names it; never throws. */
function activeResources(process: ProcessLike): string[] {
	try {
		return process.getActiveResourcesInfo?.() ?? [];
	} catch {
		return [];
	}
}

/** One listener's row, or undefined for one the report leaves out: removed, or (unless forced) never called. */
export function listenerRow(entry: ListenerEntry, now: number, forced: boolean): ListenerReport | undefined {
	const status = entry.status;
	if (status === 'registered') {
		// Never called: only a forced end leaves one behind.
		return forced ? { name: entry.name, phase: entry.phase, outcome: 'skipped', durationMs: 0 } : undefined;
	}
	if (status === 'waiting') {
		// Its phase came, but a listener it runs after never settled: never called.
		return forced ? { name: entry.name, phase: entry.phase, outcome: 'skipped', durationMs: 0, waitingOn: waitingOn(entry) } : undefined;
	}
	if (status === 'running') return { name: entry.name, phase: entry.phase, outcome: 'pending', durationMs: now - entry.startedAt! };
	if (status === 'removed') return undefined;
	// Settled, so called: its run record is complete.
	const row: ListenerReport = { name: entry.name, phase: entry.phase, outcome: status, durationMs: entry.durationMs! };
	if (entry.error !== undefined) {
		row.error = entry.error;
		// Not enumerable: the row's fields stay what they were; JSON.stringify(row) keeps the error readable.
		Object.defineProperty(row, 'toJSON', { value: rowToJSON, enumerable: false });
	}
	return row;
}

/** Where a row goes in the report: wrap-up before shutdown, then by start time; never called last, in registration order. */
const PHASE_RANK = { 'wrap-up': 0, shutdown: 1 } as const;

function startOf(entry: ListenerEntry): number {
	return entry.startedAt ?? Number.POSITIVE_INFINITY;
}

/**
 * The entries in the sequence's order: by phase, then by when each was called (those never called after, in
 * registration order). Usually a listener is called in registration order, so each phase is already sorted and
 * this is one pass; only listeners that waited (`after`) or came late make it sort.
 */
export function inSequenceOrder(entries: Iterable<ListenerEntry>): ListenerEntry[] {
	const phases: [ListenerEntry[], ListenerEntry[]] = [[], []];
	for (const entry of entries) phases[PHASE_RANK[entry.phase]].push(entry);
	for (const list of phases) {
		let sorted = true;
		for (let i = 1; i < list.length && sorted; i++) sorted = startOf(list[i - 1]!) <= startOf(list[i]!);
		// Array.prototype.sort is stable: equal starts keep registration order.
		if (!sorted) list.sort((a, b) => startOf(a) - startOf(b) || 0);
	}
	return phases[0].concat(phases[1]);
}

/**
 * Every listener's row, in the sequence's order: one small object each. Past `until` (epoch ms), checked every
 * 1024 listeners, it gives up and returns undefined. Usually each phase is called in registration order, so one
 * pass over the table makes the rows of both phases in order; only when a listener waited (`after`) or came late
 * are the entries sorted first (inSequenceOrder), and the rows made from them. The one pass matters for a forced
 * end inside a blocked loop, where this runs on a starved main thread against a time box (BLOCKED_REPORT_MS):
 * 150,000 listeners took 45-79 ms of CPU against 48-113 ms sorting first, on a loaded machine.
 */
export function listenerRows(entries: Iterable<ListenerEntry>, forced: boolean, until = Number.POSITIVE_INFINITY): ListenerReport[] | undefined {
	const now = Date.now();
	const wrapUp: ListenerReport[] = [];
	const shutdown: ListenerReport[] = [];
	let lastWrapUp = Number.NEGATIVE_INFINITY;
	let lastShutdown = Number.NEGATIVE_INFINITY;
	let count = 0;
	for (const entry of entries) {
		if ((++count & 1023) === 0 && Date.now() > until) return undefined;
		const start = startOf(entry);
		if (entry.phase === 'wrap-up') {
			if (start < lastWrapUp) return sortedRows(entries, forced, until, now);
			lastWrapUp = start;
		} else {
			if (start < lastShutdown) return sortedRows(entries, forced, until, now);
			lastShutdown = start;
		}
		const row = listenerRow(entry, now, forced);
		if (row !== undefined) (entry.phase === 'wrap-up' ? wrapUp : shutdown).push(row);
	}
	return shutdown.length === 0 ? wrapUp : wrapUp.concat(shutdown);
}

/** The rows when a phase was not called in registration order: the entries sorted first. */
function sortedRows(entries: Iterable<ListenerEntry>, forced: boolean, until: number, now: number): ListenerReport[] | undefined {
	const rows: ListenerReport[] = [];
	let count = 0;
	for (const entry of inSequenceOrder(entries)) {
		if ((++count & 1023) === 0 && Date.now() > until) return undefined;
		const row = listenerRow(entry, now, forced);
		if (row !== undefined) rows.push(row);
	}
	return rows;
}

/**
 * The rows of a forced report inside a blocked loop: the first BRIEF_LISTENERS listeners that did not end well,
 * and, from the table's counts, how many of each outcome were left out.
 */
export function briefRows(table: ListenerTable): { listeners: ListenerReport[]; omitted: Omitted } {
	const now = Date.now();
	const listeners: ListenerReport[] = [];
	const shown = { pending: 0, skipped: 0, error: 0, timeout: 0 };
	for (const entry of table.entries) {
		if (listeners.length === BRIEF_LISTENERS) break;
		const row = listenerRow(entry, now, true);
		if (row === undefined || row.outcome === 'ok') continue;
		listeners.push(row);
		shown[row.outcome] += 1;
	}
	// Every listener not yet called is still counted as registered (waiting ones too); those running, per phase,
	// and those waiting, which are counted as running too.
	const omitted = new Map([
		['error', table.failures - table.timeouts - shown.error],
		['timeout', table.timeouts - shown.timeout],
		['pending', table.running['wrap-up'] + table.running.shutdown - table.waiting - shown.pending],
		['skipped', table.registered - shown.skipped],
	]);
	return { listeners, omitted };
}

export interface ReportParts {
	/** The sequence's reason, when it started, and the other handlers found on the signals at its trigger. */
	readonly sequence: Pick<Sequence, 'reason' | 'startedAt' | 'foreignHandlers'>;
	readonly outcome: ShutdownReport['outcome'];
	readonly exitCode: number;
	/** When forced: what forced it. */
	readonly forcedBy?: ForcedBy | undefined;
	/** The rows, or what makes them when `report.listeners` is first read (see settledReport). */
	readonly listeners: ListenerReport[] | (() => ListenerReport[]);
	/** Asked what still keeps the event loop alive, when forced. */
	readonly process: ProcessLike;
}

/** The report, its duration counted until now. */
export function buildReport(parts: ReportParts): ShutdownReport {
	const { sequence, outcome, exitCode } = parts;
	const durationMs = Date.now() - sequence.startedAt;
	const forced = outcome === 'forced';
	// A placeholder keeps the fields' order; lazy rows replace it below.
	const listeners = typeof parts.listeners === 'function' ? [] : parts.listeners;
	const report: ShutdownReport = forced
		? { reason: sequence.reason, outcome, forcedBy: parts.forcedBy, exitCode, durationMs, listeners }
		: { reason: sequence.reason, outcome, exitCode, durationMs, listeners };
	if (typeof parts.listeners === 'function') rowsWhenRead(report, parts.listeners);
	if (forced) report.activeResources = activeResources(parts.process);
	const foreign = sequence.foreignHandlers;
	if (foreign !== undefined && foreign.length > 0) report.foreignHandlers = foreign.map((h) => ({ name: h.name, signals: [...h.signals] }));
	// Errors carry no enumerable fields: JSON.stringify(report) would print `{}` for each one.
	Object.defineProperty(report, 'toJSON', { value: reportToJSON, enumerable: false });
	return report;
}

/**
 * `report.listeners` made when first read, then an ordinary field: a clean shutdown that nobody asks for its report
 * (no onReport, no termination log, no `await shutdown()`) does not make a row per listener on its way out
 * (1000 + 1000 listeners: about 0.6 ms of the exit). console.log(report) shows the rows, not a getter.
 */
function rowsWhenRead(report: ShutdownReport, make: () => ListenerReport[]): void {
	const settle = (rows: ListenerReport[]): ListenerReport[] => {
		Object.defineProperty(report, 'listeners', { value: rows, writable: true, enumerable: true, configurable: true });
		return rows;
	};
	Object.defineProperty(report, 'listeners', {
		get: () => settle(make()),
		set: settle,
		enumerable: true,
		configurable: true,
	});
	Object.defineProperty(report, inspectCustom, { value: inspectReport, enumerable: false, configurable: true });
}

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

function inspectReport(this: ShutdownReport): object {
	return { ...this };
}

/** What a report is made from: the listener table, the sequence, and the process it asks. */
export interface ReportSource {
	readonly table: ListenerTable;
	readonly sequence: Sequence;
	readonly process: ProcessLike;
}

function exitCode({ sequence, process }: ReportSource, failure: boolean): number {
	return exitCodeOf(sequence, appExitCode(process), failure);
}

/** The report of a sequence whose listeners have all settled: clean, or failed (see endsFailed). */
export function settledReport(source: ReportSource): ShutdownReport {
	const failed = endsFailed(source.sequence, source.table.failures);
	// Every listener has settled, so its row can no longer change: the rows are made when first read, from the
	// entries as they are now (a listener added after the end is not in this report).
	const entries = [...source.table.entries];
	const listeners = () => listenerRows(entries, false)!;
	return buildReport({ ...source, outcome: failed ? 'failed' : 'clean', exitCode: exitCode(source, failed), listeners });
}

/** The report of a sequence forced at its deadline or by a repeated signal, naming every listener. */
export function forcedReport(source: ReportSource, forcedBy: ForcedBy): ShutdownReport {
	const code = exitCode(source, true);
	return buildReport({ ...source, outcome: 'forced', forcedBy, exitCode: code, listeners: listenerRows(source.table.entries, true)! });
}

/**
 * The reports of a forced end inside a blocked loop, which the watchdog calls from. Code run from there is slow
 * (one pass over 100,000 listeners measured 200-300 ms there, against a few ms from a timer), so what must get
 * out comes first and costs O(1): the brief report, which the termination message and the summary are made of.
 * The full report (`finalReport`) is built only for an `onReport` that wants it, and only while that cannot take
 * the process past a second after the deadline; past that, onReport gets the brief report. The listeners' waits
 * and signals are left as they are: inside a blocked loop nothing can observe them any more.
 */
export function blockedReports(source: ReportSource): { report: ShutdownReport; omitted: Omitted; finalReport: () => ShutdownReport } {
	const head = { ...source, outcome: 'forced', forcedBy: 'blocked', exitCode: exitCode(source, true) } as const;
	const { listeners, omitted } = briefRows(source.table);
	const report = buildReport({ ...head, listeners });
	const finalReport = () => {
		const all = listenerRows(source.table.entries, true, source.sequence.deadline + BLOCKED_REPORT_MS);
		if (all) return buildReport({ ...head, listeners: all });
		log('no time left to name every listener: onReport gets the brief report');
		return report;
	};
	return { report, omitted, finalReport };
}
