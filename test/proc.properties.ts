import fc from 'fast-check';
import { vi } from 'vitest';
import { createProc, type Phase, type WaitFunction } from '../src/index.js';
import { createFakeProcess } from '../src/testing.js';

/** What one listener does when called. */
export interface Behaviour {
	phase: Phase;
	kind: 'ok' | 'throw' | 'reject' | 'hang';
	delay: number;
	removed: boolean;
}

export const behaviourArb: fc.Arbitrary<Behaviour> = fc.record({
	phase: fc.constantFrom<Phase>('wrap-up', 'shutdown'),
	kind: fc.constantFrom<Behaviour['kind']>('ok', 'ok', 'ok', 'throw', 'reject', 'hang'),
	delay: fc.integer({ min: 0, max: 400 }),
	removed: fc.boolean(),
});

/**
 * The model: which listeners run, and how the sequence must end. Times are in fake milliseconds from the
 * trigger; the wrap-up phase ends when its listeners are done or at timeToWrapUp, shutdown listeners start
 * then, and anything not done before timeToForceQuit is forced.
 */
export function predict(behaviours: Behaviour[], timeToWrapUp: number, timeToForceQuit: number, trigger: string) {
	const live = behaviours.filter((b) => !b.removed);
	if (live.length === 0 && trigger !== 'manual') {
		// No listener left: no handler either, so the signal does what Node does by default.
		return { calledOnce: behaviours.map(() => false), state: 'running', durationMs: undefined, exitCode: trigger === 'SIGTERM' ? 143 : 130, outcome: 'clean' };
	}
	const doneAt = (b: Behaviour, start: number) => (b.kind === 'hang' ? Number.POSITIVE_INFINITY : start + (b.kind === 'throw' && b.delay === 0 ? 0 : b.delay));
	const wrapUps = live.filter((b) => b.phase === 'wrap-up');
	const wrapUpEnd = Math.min(timeToWrapUp, Math.max(0, ...wrapUps.map((b) => doneAt(b, 0))));
	const finish = (b: Behaviour) => doneAt(b, b.phase === 'wrap-up' ? 0 : wrapUpEnd);
	// The force timer is set before any listener's timer, so on a tie the deadline wins.
	const forced = live.some((b) => finish(b) >= timeToForceQuit);
	const failed = live.some((b) => (b.kind === 'throw' || b.kind === 'reject') && finish(b) < timeToForceQuit);
	return {
		calledOnce: behaviours.map((b) => !b.removed && (b.phase === 'wrap-up' || wrapUpEnd < timeToForceQuit)),
		state: forced ? 'forced' : 'done',
		durationMs: forced ? timeToForceQuit : Math.max(0, ...live.map(finish)),
		exitCode: forced || failed ? 1 : 0,
		outcome: forced ? 'forced' : failed ? 'failed' : 'clean',
	};
}

/** Property: every listener that was not removed is called exactly once, and the sequence ends as the model says. */
export function sequenceMatchesModel() {
	return fc.asyncProperty(
		fc.array(behaviourArb, { maxLength: 12 }),
		fc.integer({ min: 0, max: 300 }),
		fc.integer({ min: 100, max: 1000 }),
		fc.constantFrom('SIGTERM', 'SIGINT', 'manual'),
		async (behaviours, timeToWrapUp, timeToForceQuit, trigger) => {
			vi.useFakeTimers();
			try {
				const fake = createFakeProcess();
				const proc = createProc({ process: fake, logger: false, timeToWrapUp, timeToForceQuit });
				const calls = behaviours.map(() => 0);
				const waits: WaitFunction[] = behaviours.map((b, i) => {
					const fn = () => {
						calls[i]! += 1;
						if (b.kind === 'throw' && b.delay === 0) throw new Error(`listener ${i}`);
						// Settling at once goes through no timer: a 0 ms fake timer made during a tick fires 1 ms later
						// (fake-timers' rule), and whether the call lands inside a tick depends on real scheduling.
						if (b.delay === 0 && b.kind !== 'hang') return b.kind === 'ok' ? Promise.resolve() : Promise.reject(new Error(`listener ${i}`));
						return new Promise<void>((resolve, reject) => {
							if (b.kind === 'hang') return;
							setTimeout(() => (b.kind === 'ok' ? resolve() : reject(new Error(`listener ${i}`))), b.delay);
						});
					};
					return b.phase === 'wrap-up' ? proc.addWrapUpListener(fn) : proc.addShutdownListener(fn);
				});
				behaviours.forEach((b, i) => b.removed && waits[i]!.remove());
				const model = predict(behaviours, timeToWrapUp, timeToForceQuit, trigger);
				if (trigger === 'manual') void proc.shutdown('manual');
				else fake.kill(trigger);
				await vi.advanceTimersByTimeAsync(timeToForceQuit + 1);
				const exitCode = await fake.exited;
				const state = proc.state;
				const report = await proc.shutdown();
				const ok =
					calls.every((n, i) => n === (model.calledOnce[i] ? 1 : 0)) &&
					state === model.state &&
					exitCode === model.exitCode &&
					report.outcome === model.outcome &&
					(model.durationMs === undefined || report.durationMs === model.durationMs) &&
					report.listeners.length === behaviours.filter((b) => !b.removed).length;
				if (!ok) {
					throw new Error(`model mismatch: calls=${calls} state=${state} exit=${exitCode} report=${JSON.stringify(report)} model=${JSON.stringify(model)}`);
				}
			} finally {
				vi.useRealTimers();
			}
		},
	);
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
