/**
 * The one way out of a sequence, for the normal end and for the forced end inside a blocked loop alike, with the
 * same steps in the same order: timers stop and the watchdog holds the deadline; the termination message and the
 * summary go out; onReport (and a fake process) get the report; `shutdown()` resolves; the process exits, or gets
 * its signals back.
 */
import { createDebug } from './debug.js';
import { describeError } from './describe-error.js';
import { flushStdio } from './flush-stdio.js';
import { absorb } from './logger.js';
import type { CoreOptions } from './proc-options.js';
import type { Sequence } from './sequence.js';
import { formatSummary, type Omitted } from './summary.js';
import { writeTerminationLog } from './termination-log.js';
import { tellReport } from './testing-protocol.js';
import type { ProcessLike, ShutdownReport } from './types.js';

const log = createDebug('proc');

/** After the deadline (a forced exit), how long stdout and stderr may still take to take the summary. */
const FLUSH_GRACE_MS = 250;

/** What the proc lends the way out. */
export interface ExitHost {
	readonly process: ProcessLike;
	readonly options: CoreOptions;
	/** From here it holds the deadline, for the hooks and the output too; it stays until the process exits. */
	readonly watchdog: { ending(exitCode: number): void };
	/** The proc's handlers, taken off a process that is left running. */
	readonly router: { uninstall(): void };
	/** The application's logger, called safely. */
	log(message: string): void;
}

export interface Leaving {
	/** What the termination message and the summary say. */
	readonly report: ShutdownReport;
	/** Listeners the report counts instead of naming (the brief report of a blocked end). */
	readonly omitted?: Omitted | undefined;
	/** The report onReport and `shutdown()` get, when it is built after the announcement; else `report`. */
	readonly finalReport?: (() => ShutdownReport) | undefined;
	/** Inside a blocked loop no promise turn will come: exit at once, rather than after the output. */
	readonly atOnce: boolean;
}

export function leave(sequence: Sequence, leaving: Leaving, host: ExitHost): void {
	const { report, omitted } = leaving;
	const code = report.exitCode;
	clearTimeout(sequence.forceTimer);
	clearTimeout(sequence.wrapUpTimer);
	// The logger and onReport are the application's: from here the watchdog holds the deadline, it no longer waits.
	sequence.reportedCode = code;
	host.watchdog.ending(code);
	log('shutdown %s in %d ms, exit code %d', report.outcome, report.durationMs, code);
	announce(report, omitted, host);
	// Still library work, which the watchdog lets finish; the application's hook comes after.
	const final = host.options.onReport && leaving.finalReport ? leaving.finalReport() : report;
	deliver(final, host);
	// A fake process keeps it for the test (`fake.report`), whatever onReport the app configured.
	tellReport(host.process, final);
	sequence.resolve(final);
	if (!host.options.exit) {
		// Left running: Node's default signal behaviour comes back, so the next SIGTERM is not swallowed.
		host.router.uninstall();
	} else if (leaving.atOnce) {
		host.process.exit(code);
	} else {
		// One microtask turn later, so that `await proc.shutdown()` sees its report (and may still write)
		// before the process goes; then what stdout and stderr hold is handed to the OS first.
		void sequence.promise.then(() => exitAfterOutput(sequence, host.process, code));
	}
}

/** The termination message and, unless the end was clean, the summary: what the orchestrator and the logs keep. */
function announce(report: ShutdownReport, omitted: Omitted | undefined, host: ExitHost): void {
	// Written first and synchronously: it is what the orchestrator keeps, whatever the hooks below do.
	const terminationLog = host.options.terminationLog;
	if (terminationLog !== undefined) writeTerminationLog(terminationLog, report, omitted);
	if (report.outcome === 'clean') return;
	let summary: string;
	try {
		summary = formatSummary(report, omitted);
	} catch (error) {
		summary = `graceful-proc: shutdown ${report.outcome}, exit code ${report.exitCode} (the summary failed: ${describeError(error)})`;
	}
	host.log(summary);
}

/** onReport, which may throw or reject anything: it is told on the logger, and changes nothing. */
function deliver(report: ShutdownReport, host: ExitHost): void {
	const onReport = host.options.onReport;
	if (!onReport) return;
	const complain = (how: string) => (error: unknown) => host.log(`graceful-proc: onReport ${how}: ${describeError(error, { stack: true })}`);
	try {
		absorb(onReport(report), complain('rejected'));
	} catch (error) {
		complain('threw')(error);
	}
}

/** Exits once stdout and stderr have handed what they hold to the OS, by the deadline; a repeated signal exits at once. */
function exitAfterOutput(sequence: Sequence, process: ProcessLike, code: number): void {
	let exited = false;
	const exit = () => {
		if (exited) return;
		exited = true;
		sequence.exitNow = undefined;
		process.exit(code);
	};
	const until = Math.max(sequence.deadline, Date.now() + FLUSH_GRACE_MS);
	const flushed = flushStdio(process, until);
	if (flushed === undefined) return exit();
	log('waiting for stdout and stderr before exiting');
	sequence.exitNow = exit;
	void flushed.then(exit);
}
