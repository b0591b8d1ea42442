/**
 * How the testing kit and the core speak: registered symbols on the process-wide proc and on a fake process, so
 * that every copy and build of the package agrees, and the kit needs none of the core's code. Small on purpose:
 * the entries that need it get it without a second copy of the state machine.
 */
import type { Proc, ProcessLike, ShutdownReport } from './types.js';

/** While a test has the process-wide proc on a fake process: the proc made for the fake, and how drains wait. */
export interface FakeBinding {
	readonly proc: Proc;
	readonly process: ProcessLike;
	/** `'devWatch'`: a drain's `delay` and `idleGrace` are those of its `devWatch` option; `'production'`: as set. */
	readonly drainWaits: 'devWatch' | 'production';
}

/** On the process-wide proc: the binding in force (a getter), or undefined on the real process. */
export const kFakeBinding = Symbol.for('graceful-proc.processWide.fakeBinding.v1');
/** On the process-wide proc: `(binding | undefined) => void`, onto a fake process and back. */
export const kBindFake = Symbol.for('graceful-proc.processWide.bindFake.v1');
/** On the process-wide proc: `(onChange: () => void) => void`, told after every change of binding. */
export const kFollowBinding = Symbol.for('graceful-proc.processWide.followBinding.v1');
/** On a proc: the names of the listeners registered and not yet called (a getter). */
export const kRegisteredNames = Symbol.for('graceful-proc.registeredNames.v1');
/** On a process-like object: `(report) => void`, told the report of a proc bound to it when its sequence ends. */
export const kTellReport = Symbol.for('graceful-proc.tellReport.v1');

type Slots = Partial<Record<symbol, unknown>>;

/** The binding of the process-wide proc to a fake process, if `proc` is the process-wide proc and is on one. */
export function fakeBindingOf(proc: Proc): FakeBinding | undefined {
	return (proc as unknown as Slots)[kFakeBinding] as FakeBinding | undefined;
}

/**
 * The proc that a registration made now belongs to: `proc` itself, or for the process-wide proc on a fake process,
 * the proc on the fake. A server, ticker or child set up during a test stays with that test's proc for its life.
 */
export function procInForce(proc: Proc): Proc {
	return fakeBindingOf(proc)?.proc ?? proc;
}

/** Tells a process-like object that knows how to hear it (a fake process) the report of its proc. */
export function tellReport(process: ProcessLike, report: ShutdownReport): void {
	const tell = (process as unknown as Slots)[kTellReport];
	if (typeof tell === 'function') tell.call(process, report);
}
