/**
 * The core entry point, `graceful-proc`: the process-wide proc, its functions as named exports (so that
 * `import * as proc` works like go-zero's package), `createProc`, `run`, `notifyReady`, the error classes and the
 * types. Each function throws at its caller's line (call-site.ts).
 */
import { atCallSite } from './call-site.js';
import { createProc as createIsolatedProc } from './proc.js';
import { run as runMain } from './run.js';
import { processWideProc } from './shared-instance.js';
import { notifyReady as notifyServiceReady } from './systemd/service.js';
import { kFollowBinding } from './testing-protocol.js';
import type { FinalListener, Listener, ListenerOptions, Proc, ProcOptions, ShutdownOptions, ShutdownReport, TrackedUnit, TrackOptions, WaitFunction } from './types.js';
import { expected } from './validate.js';

/** The process-wide proc: one per process, shared by every copy of graceful-proc that is loaded. */
export const proc: Proc = processWideProc();

/** Register a listener for the wrap-up phase (stop taking work, drain). Returns its `wait`. */
export const addWrapUpListener = /* @__PURE__ */ atCallSite(function addWrapUpListener(fn: Listener, options?: ListenerOptions): WaitFunction {
	return proc.addWrapUpListener(fn, options);
});

/** Register a listener for the shutdown phase (close pools, flush). Returns its `wait`. */
export const addShutdownListener = /* @__PURE__ */ atCallSite(function addShutdownListener(fn: Listener, options?: ListenerOptions): WaitFunction {
	return proc.addShutdownListener(fn, options);
});

/** Milliseconds from the trigger to the forced exit (default 5500). */
export const setTimeToForceQuit = /* @__PURE__ */ atCallSite(function setTimeToForceQuit(ms: number): void {
	proc.setTimeToForceQuit(ms);
});

/** Milliseconds the wrap-up phase may take before the shutdown phase starts anyway (default 1000). */
export const setTimeToWrapUp = /* @__PURE__ */ atCallSite(function setTimeToWrapUp(ms: number): void {
	proc.setTimeToWrapUp(ms);
});

/** The last step: called with the report once every other listener has settled, to log it and flush. */
export const addFinalListener = /* @__PURE__ */ atCallSite(function addFinalListener(fn: FinalListener, options?: { name?: string }): () => boolean {
	// The process-wide proc may come from an older copy of the package, made before the last step existed.
	if (typeof proc.addFinalListener !== 'function') throw new Error('graceful-proc: the process-wide proc comes from an older copy of graceful-proc without addFinalListener()');
	return proc.addFinalListener(fn, options);
});

/** Run `fn({ signal, name })` as a unit of tracked work on the process-wide proc: the wrap-up phase waits for it. */
export const track = /* @__PURE__ */ atCallSite(function track<T>(fn: (unit: TrackedUnit) => T | PromiseLike<T>, options?: TrackOptions): Promise<Awaited<T>> {
	// The process-wide proc may come from an older copy of the package, made before tracked work existed.
	if (typeof proc.track !== 'function') throw new Error('graceful-proc: the process-wide proc comes from an older copy of graceful-proc without track()');
	return proc.track(fn, options);
});

/** Change the process-wide proc's options before shutdown starts: `handleErrors`, `logger`, `onReport`, `signals`, ... */
export const configure = /* @__PURE__ */ atCallSite(function configure(options: Omit<ProcOptions, 'process'>): void {
	proc.configure(options);
});

/** Start the sequence by hand; every call returns the same promise of the report. */
export const shutdown = /* @__PURE__ */ atCallSite(function shutdown(reason?: unknown, options?: ShutdownOptions): Promise<ShutdownReport> {
	return proc.shutdown(reason, options);
});

/** Aborted when shutdown starts: go-zero's `Done()` channel. */
export let signal: AbortSignal = proc.signal;
// Under the testing kit's useFakeProcess() the proc in force is one on a fake process, with its own signal: the
// binding follows it (a live binding in ESM, a getter in the CommonJS build). An older copy's proc has no bindings.
(proc as unknown as Partial<Record<symbol, (onChange: () => void) => void>>)[kFollowBinding]?.(() => {
	signal = proc.signal;
});

// The same functions, throwing at their caller; their documentation comes with `typeof`.
export const createProc: typeof createIsolatedProc = /* @__PURE__ */ atCallSite(createIsolatedProc);

/**
 * Tell systemd (Type=notify) that the service is ready: READY=1 with a STATUS line, the watchdog pings it asked
 * for, and STOPPING=1 when the shutdown starts. serve() does this itself; call it from a worker once it is ready.
 * Does nothing unless systemd set NOTIFY_SOCKET.
 */
export const notifyReady = /* @__PURE__ */ atCallSite(function notifyReady(status = 'ready'): Promise<void> {
	if (typeof status !== 'string') throw new TypeError(expected('status', 'a string', status));
	return notifyServiceReady(proc, status);
});

export const run: typeof runMain = /* @__PURE__ */ atCallSite(runMain);

export { ForceQuitError, ListenerRemovedError, ListenerTimeoutError, NOT_ACCEPTING, NotAcceptingError, TrackedWorkCutError } from './errors.js';
export type { RunContext, RunOptions } from './run.js';
export type {
	FinalListener,
	FinalListenerContext,
	ForcedBy,
	ForeignHandler,
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
	TrackedUnit,
	TrackOptions,
	WaitFunction,
} from './types.js';
