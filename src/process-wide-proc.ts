/**
 * The process-wide proc as users hold it (`proc`, the named exports): a stable object that passes every call on
 * to the proc in force, the one on the real process, or while a test asked for it (the testing kit's
 * `useFakeProcess()`), one made for a fake process. The real one is never changed by a test.
 */
import { methodsAtCallSite } from './call-site.js';
import { ProcImpl } from './proc.js';
import { kShutdownWithCode } from './sequence.js';
import { OBSERVE_SEQUENCE, type SequenceObserver } from './sequence-observer.js';
import { SIGNALS_HANDLED } from './signals.js';
import { type FakeBinding, kBindFake, kFakeBinding, kFollowBinding, kRegisteredNames } from './testing-protocol.js';
import { RESERVE_TIME } from './time-budget.js';
import type { FinalListener, Listener, ListenerOptions, Phase, Proc, ProcessLike, ProcOptions, ProcState, ShutdownOptions, ShutdownReport, TrackedUnit, TrackOptions, WaitFunction } from './types.js';

export class ProcessWideProc implements Proc {
	readonly #real = new ProcImpl();
	#fake: FakeBinding | undefined;
	readonly #followers = new Set<() => void>();

	/** The proc in force. A proc on a fake process comes from the kit, which may be another copy's: typed as the real one. */
	get #target(): ProcImpl {
		return (this.#fake?.proc as ProcImpl | undefined) ?? this.#real;
	}

	addWrapUpListener(fn: Listener, options?: ListenerOptions): WaitFunction {
		return this.#target.addWrapUpListener(fn, options);
	}

	addShutdownListener(fn: Listener, options?: ListenerOptions): WaitFunction {
		return this.#target.addShutdownListener(fn, options);
	}

	addFinalListener(fn: FinalListener, options?: { name?: string }): () => boolean {
		const target = this.#target;
		if (typeof target.addFinalListener !== 'function') throw new Error('graceful-proc: the proc in force comes from an older copy of graceful-proc without addFinalListener()');
		return target.addFinalListener(fn, options);
	}

	track<T>(fn: (unit: TrackedUnit) => T | PromiseLike<T>, options?: TrackOptions): Promise<Awaited<T>> {
		const target = this.#target;
		if (typeof target.track !== 'function') throw new Error('graceful-proc: the proc in force comes from an older copy of graceful-proc without track()');
		return target.track(fn, options);
	}

	setTimeToForceQuit(ms: number): void {
		this.#target.setTimeToForceQuit(ms);
	}

	setTimeToWrapUp(ms: number): void {
		this.#target.setTimeToWrapUp(ms);
	}

	configure(options: Omit<ProcOptions, 'process'>): void {
		this.#target.configure(options);
	}

	shutdown(reason?: unknown, options?: ShutdownOptions): Promise<ShutdownReport> {
		return this.#target.shutdown(reason, options);
	}

	get state(): ProcState {
		return this.#target.state;
	}

	get signal(): AbortSignal {
		return this.#target.signal;
	}

	get deadline(): number | undefined {
		return this.#target.deadline;
	}

	get timeToForceQuit(): number {
		return this.#target.timeToForceQuit;
	}

	get timeToWrapUp(): number {
		return this.#target.timeToWrapUp;
	}

	[RESERVE_TIME](phase: Phase, ms: number, who: string): () => void {
		return this.#target[RESERVE_TIME](phase, ms, who);
	}

	[SIGNALS_HANDLED](): { process: ProcessLike; signals: readonly string[] } | undefined {
		const target = this.#target;
		return typeof target[SIGNALS_HANDLED] === 'function' ? target[SIGNALS_HANDLED]() : undefined;
	}

	/** The systemd STATUS lines follow the sequence of the proc in force; a proc from an older copy is not observed. */
	[OBSERVE_SEQUENCE](observer: SequenceObserver): () => void {
		const target = this.#target;
		return typeof target[OBSERVE_SEQUENCE] === 'function' ? target[OBSERVE_SEQUENCE](observer) : () => {};
	}

	[kShutdownWithCode](reason: unknown, exitCode: number): Promise<ShutdownReport> {
		const target = this.#target;
		// A proc from an older copy may not know the exit code floor: a failure then ends like shutdown().
		return typeof target[kShutdownWithCode] === 'function' ? target[kShutdownWithCode](reason, exitCode) : target.shutdown(reason);
	}

	get [kRegisteredNames](): string[] {
		return this.#target[kRegisteredNames] ?? [];
	}

	// ── The testing kit's side (testing-protocol.ts) ──────────────────────────────────────────────────────────

	get [kFakeBinding](): FakeBinding | undefined {
		return this.#fake;
	}

	[kBindFake](binding: FakeBinding | undefined): void {
		this.#fake = binding;
		for (const follower of this.#followers) follower();
	}

	/** For what holds a value of the proc in force, such as the core's `signal` export. */
	[kFollowBinding](onChange: () => void): void {
		this.#followers.add(onChange);
	}
}

// As for ProcImpl: what these throw at their call points at the caller's line.
methodsAtCallSite(ProcessWideProc.prototype, ['addWrapUpListener', 'addShutdownListener', 'addFinalListener', 'track', 'setTimeToForceQuit', 'setTimeToWrapUp', 'configure', 'shutdown']);
