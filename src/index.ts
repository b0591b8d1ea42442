/**
 * The core entry point, `graceful-proc`: the process-wide proc, its functions as named exports (so that
 * `import * as proc` works like go-zero's package), `createProc`, `run`, the error classes and the types.
 */
import { createProc } from './proc.js';
import { run } from './run.js';
import { processWideProc } from './shared-instance.js';
import type { Listener, ListenerOptions, Proc, ProcOptions, ShutdownOptions, ShutdownReport, WaitFunction } from './types.js';

/** The process-wide proc: one per process, shared by every copy of graceful-proc that is loaded. */
export const proc: Proc = processWideProc();

/** Register a listener for the wrap-up phase (stop taking work, drain). Returns its `wait`. */
export function addWrapUpListener(fn: Listener, options?: ListenerOptions): WaitFunction {
	return proc.addWrapUpListener(fn, options);
}

/** Register a listener for the shutdown phase (close pools, flush). Returns its `wait`. */
export function addShutdownListener(fn: Listener, options?: ListenerOptions): WaitFunction {
	return proc.addShutdownListener(fn, options);
}

/** Milliseconds from the trigger to the forced exit (default 5500). */
export function setTimeToForceQuit(ms: number): void {
	proc.setTimeToForceQuit(ms);
}

/** Milliseconds the wrap-up phase may take before the shutdown phase starts anyway (default 1000). */
export function setTimeToWrapUp(ms: number): void {
	proc.setTimeToWrapUp(ms);
}

/** Change the process-wide proc's options before shutdown starts: `handleErrors`, `logger`, `onReport`, `signals`, ... */
export function configure(options: Omit<ProcOptions, 'process'>): void {
	proc.configure(options);
}

/** Start the sequence by hand; every call returns the same promise of the report. */
export function shutdown(reason?: unknown, options?: ShutdownOptions): Promise<ShutdownReport> {
	return proc.shutdown(reason, options);
}

/** Aborted when shutdown starts: go-zero's `Done()` channel. */
export const signal: AbortSignal = proc.signal;

export { createProc, run };
export { ForceQuitError, ListenerRemovedError, ListenerTimeoutError } from './errors.js';
export type { RunContext, RunOptions } from './run.js';
export type {
	ForcedBy,
	Listener,
	ListenerContext,
	ListenerOptions,
	ListenerOutcome,
	ListenerReport,
	Logger,
	Phase,
	Proc,
	ProcessLike,
	ProcOptions,
	ProcState,
	ShutdownOptions,
	ShutdownReport,
	WaitFunction,
} from './types.js';
