import fc from 'fast-check';
import { vi } from 'vitest';
import { createProc, type Phase, type WaitFunction } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { AppProcess } from './app-process.js';

/** What one listener does when called. */
export interface Behaviour {
	phase: Phase;
	kind: 'ok' | 'throw' | 'reject' | 'hang';
	delay: number;
	removed: boolean;
	/** Indexes of listeners it runs after (`after`); only earlier ones of its phase, or wrap-up ones, count. */
	after: number[];
}

/** The predecessors a behaviour may name: registered before it, and not in a later phase. */
export function predecessorsOf(behaviours: readonly Behaviour[], i: number): number[] {
	const b = behaviours[i]!;
	return [...new Set(b.after)].filter((j) => j < i && (behaviours[j]!.phase === b.phase || behaviours[j]!.phase === 'wrap-up'));
}

// Every time the sequence itself produces is even; a repeated signal comes at an odd time, so the two never tie.
const even = (min: number, max: number) => fc.integer({ min: min / 2, max: max / 2 }).map((n) => n * 2);

export const behaviourArb: fc.Arbitrary<Behaviour> = fc.record({
	phase: fc.constantFrom<Phase>('wrap-up', 'shutdown'),
	kind: fc.constantFrom<Behaviour['kind']>('ok', 'ok', 'ok', 'throw', 'reject', 'hang'),
	delay: even(0, 400),
	removed: fc.boolean(),
	after: fc.array(fc.nat({ max: 11 }), { maxLength: 2 }),
});

export interface Scenario {
	behaviours: Behaviour[];
	timeToWrapUp: number;
	timeToForceQuit: number;
	trigger: 'SIGTERM' | 'SIGINT' | 'manual';
	/** The application's `process.exitCode` before the signal; undefined: never set. */
	presetExitCode: number | undefined;
	/** The code given to `shutdown(reason, { exitCode })` (manual trigger only). */
	requestedExitCode: number;
	/** When a second signal comes, in ms after the trigger (odd); undefined: none. */
	repeatAt: number | undefined;
}

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
	behaviours: fc.array(behaviourArb, { maxLength: 12 }),
	timeToWrapUp: even(0, 300),
	timeToForceQuit: even(100, 1000),
	trigger: fc.constantFrom('SIGTERM', 'SIGINT', 'manual'),
	presetExitCode: fc.constantFrom(undefined, undefined, 0, 3),
	requestedExitCode: fc.constantFrom(0, 0, 9),
	repeatAt: fc.option(even(0, 1000).map((n) => n + 1), { nil: undefined }),
});

/**
 * The model: which listeners run, and how the sequence must end. Times are in fake milliseconds from the
 * trigger; the wrap-up phase ends when its listeners are done or at timeToWrapUp, shutdown listeners start
 * then, and anything not done before timeToForceQuit is forced; so is everything still running when a
 * second signal comes 100 ms or more after the first. The exit code: a code given to shutdown(), else the
 * application's non-zero process.exitCode, else 1 for a failure and 0.
 */
export function predict(scenario: Scenario) {
	const { behaviours, timeToWrapUp, timeToForceQuit, trigger, presetExitCode, repeatAt } = scenario;
	const requested = trigger === 'manual' ? scenario.requestedExitCode : 0;
	const live = behaviours.filter((b) => !b.removed);
	if (live.length === 0 && trigger !== 'manual') {
		// No listener left: no handler either, so the signal does what Node does by default.
		return { calledOnce: behaviours.map(() => false), state: 'running', durationMs: undefined, exitCode: trigger === 'SIGTERM' ? 143 : 130, outcome: 'clean', forcedBy: undefined, listeners: [] };
	}
	const doneAt = (b: Behaviour, start: number) => (b.kind === 'hang' ? Number.POSITIVE_INFINITY : start + (b.kind === 'throw' && b.delay === 0 ? 0 : b.delay));
	// `after`: a listener starts at its phase's start, or when the last of its (not removed) predecessors ends.
	const phaseStart = (wrapUpEnd: number) => (b: Behaviour) => (b.phase === 'wrap-up' ? 0 : wrapUpEnd);
	const timesFor = (wrapUpEnd: number) => {
		const start: number[] = [];
		const done: number[] = [];
		behaviours.forEach((b, i) => {
			const preds = predecessorsOf(behaviours, i).filter((j) => !behaviours[j]!.removed);
			start[i] = Math.max(phaseStart(wrapUpEnd)(b), ...preds.map((j) => done[j]!));
			done[i] = start[i] === Number.POSITIVE_INFINITY ? start[i]! : doneAt(b, start[i]!);
		});
		return { start, done };
	};
	const liveIdx = behaviours.map((b, i) => i).filter((i) => !behaviours[i]!.removed);
	const wrapUpIdx = liveIdx.filter((i) => behaviours[i]!.phase === 'wrap-up');
	const wrapUpDone = timesFor(0).done;
	const wrapUpEnd = Math.min(timeToWrapUp, Math.max(0, ...wrapUpIdx.map((i) => wrapUpDone[i]!)));
	const { start, done } = timesFor(wrapUpEnd);
	const naturalEnd = Math.max(0, ...liveIdx.map((i) => done[i]!));
	// A repeat counts from the first signal; a sequence started by hand has none before it, so its first signal joins.
	const signalForces = trigger !== 'manual' && repeatAt !== undefined && repeatAt >= 100 && repeatAt < timeToForceQuit && repeatAt < naturalEnd;
	// The force timer is set before any listener's timer, so on a tie the deadline wins.
	const forcedAt = signalForces ? repeatAt : naturalEnd >= timeToForceQuit ? timeToForceQuit : undefined;
	const forced = forcedAt !== undefined;
	const end = forcedAt ?? naturalEnd;
	// A listener is called when its start comes strictly before the forced end (the force timer is set first,
	// so it wins a tie); a wrap-up listener with nothing to wait for is called at the trigger.
	const calledAt = (i: number) => !behaviours[i]!.removed && (!forced || start[i] === 0 || start[i]! < end);
	const failed = liveIdx.some((i) => (behaviours[i]!.kind === 'throw' || behaviours[i]!.kind === 'reject') && calledAt(i) && (!forced || done[i]! < end));
	const failure = forced || failed || requested !== 0;
	// The report's order is the sequence's: wrap-up before shutdown, then by start; those never called last.
	const rank = (i: number) => (calledAt(i) ? start[i]! : Number.POSITIVE_INFINITY);
	const ordered = (phase: Phase) => liveIdx.filter((i) => behaviours[i]!.phase === phase).sort((a, b) => rank(a) - rank(b) || a - b);
	return {
		calledOnce: behaviours.map((b, i) => calledAt(i)),
		state: forced ? 'forced' : 'done',
		durationMs: end,
		exitCode: requested || presetExitCode || (failure ? 1 : 0),
		outcome: forced ? 'forced' : failure ? 'failed' : 'clean',
		forcedBy: forced ? (signalForces ? 'signal' : 'deadline') : undefined,
		listeners: [...ordered('wrap-up'), ...ordered('shutdown')].map((i) =>
			!calledAt(i) ? 'skipped' : done[i]! >= end && forced ? 'pending' : behaviours[i]!.kind === 'ok' ? 'ok' : 'error',
		),
		/** For each listener, the index it must not start before (its predecessors' ends). */
		start,
	};
}

/** Property: every listener that was not removed is called exactly once, and the sequence ends as the model says. */
export function sequenceMatchesModel() {
	return fc.asyncProperty(scenarioArb, async (scenario) => {
		const { behaviours, timeToWrapUp, timeToForceQuit, trigger, presetExitCode, repeatAt } = scenario;
		vi.useFakeTimers();
		try {
			// The testing kit's fake cannot hold an exit code the application set: a process-like that can, then.
			const fake = presetExitCode === undefined ? createFakeProcess() : new AppProcess(presetExitCode);
			const proc = createProc({ process: fake, logger: false, timeToWrapUp, timeToForceQuit });
			const calls = behaviours.map(() => 0);
			/** Fake time at which each listener was called, to check that `after` held. */
			const calledAtTime: number[] = [];
			const t0 = Date.now();
			const waits: WaitFunction[] = [];
			behaviours.forEach((b, i) => {
				const fn = () => {
					calls[i]! += 1;
					calledAtTime[i] = Date.now() - t0;
					if (b.kind === 'throw' && b.delay === 0) throw new Error(`listener ${i}`);
					// Settling at once goes through no timer: a 0 ms fake timer made during a tick fires 1 ms later
					// (fake-timers' rule), and whether the call lands inside a tick depends on real scheduling.
					if (b.delay === 0 && b.kind !== 'hang') return b.kind === 'ok' ? Promise.resolve() : Promise.reject(new Error(`listener ${i}`));
					return new Promise<void>((resolve, reject) => {
						if (b.kind === 'hang') return;
						setTimeout(() => (b.kind === 'ok' ? resolve() : reject(new Error(`listener ${i}`))), b.delay);
					});
				};
				// `after` by wait function and by name, in turn.
				const after = predecessorsOf(behaviours, i).map((j) => (j % 2 === 0 ? waits[j]! : `l${j}`));
				const options = { name: `l${i}`, after };
				waits.push(b.phase === 'wrap-up' ? proc.addWrapUpListener(fn, options) : proc.addShutdownListener(fn, options));
			});
			behaviours.forEach((b, i) => b.removed && waits[i]!.remove());
			const model = predict(scenario);
			if (trigger === 'manual') void proc.shutdown('manual', { exitCode: scenario.requestedExitCode });
			else fake.kill(trigger);
			if (repeatAt !== undefined && trigger !== 'manual') {
				await vi.advanceTimersByTimeAsync(repeatAt);
				fake.kill(trigger);
				await vi.advanceTimersByTimeAsync(Math.max(0, timeToForceQuit + 1 - repeatAt));
			} else {
				await vi.advanceTimersByTimeAsync(timeToForceQuit + 1);
			}
			const exitCode = await fake.exited;
			const state = proc.state;
			const report = await proc.shutdown();
			const ok =
				calls.every((n, i) => n === (model.calledOnce[i] ? 1 : 0)) &&
				state === model.state &&
				exitCode === model.exitCode &&
				report.outcome === model.outcome &&
				report.exitCode === (model.state === 'running' ? report.exitCode : model.exitCode) &&
				report.forcedBy === model.forcedBy &&
				// Order: no listener was called before the time its predecessors' ends allow.
				calledAtTime.every((t, i) => t === undefined || t >= (model.start?.[i] ?? 0)) &&
				(model.durationMs === undefined || report.durationMs === model.durationMs) &&
				(model.state === 'running' || report.listeners.map((l) => l.outcome).join() === model.listeners.join());
			if (!ok) {
				throw new Error(`model mismatch: calls=${calls} state=${state} exit=${exitCode} report=${JSON.stringify(report)} model=${JSON.stringify(model)}`);
			}
		} finally {
			vi.useRealTimers();
		}
	});
}

export type Op = { add: Phase } | { remove: number };

export const opsArb: fc.Arbitrary<Op[]> = fc.array(
	fc.oneof(fc.record({ add: fc.constantFrom<Phase>('wrap-up', 'shutdown') }), fc.record({ remove: fc.nat({ max: 20 }) })),
	{ maxLength: 40 },
);

/** Property: after any interleaving of add and remove, handlers are installed exactly while a listener is registered. */
export function handlersFollowRegistrations() {
	return fc.property(opsArb, fc.boolean(), (ops, handleErrors) => {
		const fake = createFakeProcess({ ipc: true });
		const proc = createProc({ process: fake, logger: false, handleErrors });
		const waits: WaitFunction[] = [];
		let live = 0;
		for (const op of ops) {
			if ('add' in op) {
				waits.push(op.add === 'wrap-up' ? proc.addWrapUpListener(() => {}) : proc.addShutdownListener(() => {}));
				live++;
			} else if (waits.length > 0) {
				const removed = waits[op.remove % waits.length]!.remove();
				if (removed) live--;
			}
			const installed = fake.listenedEvents().length > 0;
			if (installed !== live > 0) throw new Error(`installed=${installed} with ${live} live listeners`);
		}
		for (const wait of waits) wait.remove();
		if (fake.listenedEvents().length !== 0) throw new Error(`left behind: ${fake.listenedEvents()}`);
	});
}
