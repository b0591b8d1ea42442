import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createHealthTicker, type CheckResult, type HealthStatus } from '../../src/health/index.js';

/** What one check does in one round. Durations end in 5 and times in 0, so nothing ties with a timer. */
interface Step {
	readonly duration: number;
	readonly fails: boolean;
	/** A badly written check ignores its abort signal and runs on after its timeout. */
	readonly honoursAbort: boolean;
}

interface Plan {
	readonly interval: number;
	readonly timeout: number;
	readonly rounds: readonly (readonly Step[])[];
}

const planArbitrary: fc.Arbitrary<Plan> = fc
	.record({
		checks: fc.integer({ min: 1, max: 4 }),
		rounds: fc.integer({ min: 1, max: 6 }),
		interval: fc.integer({ min: 2, max: 50 }).map((n) => n * 10),
	})
	.chain(({ checks, rounds, interval }) =>
		fc.record({
			interval: fc.constant(interval),
			// Strictly below the interval: a round then never outlasts it, so every start time is exact.
			timeout: fc.integer({ min: 1, max: interval / 10 - 1 }).map((n) => n * 10),
			rounds: fc.array(
				fc.array(
					fc.record({
						duration: fc.integer({ min: 0, max: Math.floor((interval * 2.5) / 10) }).map((n) => n * 10 + 5),
						fails: fc.boolean(),
						honoursAbort: fc.boolean(),
					}),
					{ minLength: checks, maxLength: checks },
				),
				{ minLength: rounds, maxLength: rounds },
			),
		}),
	);

const IDLE: Step = { duration: 5, fails: false, honoursAbort: true };

/** The model: what round k must report for check i, given when its earlier calls were made. */
function expectedResults(plan: Plan, names: string[]): { calls: number[][]; results: Record<string, Partial<CheckResult>>[] } {
	const calls: number[][] = names.map(() => []);
	const results: Record<string, Partial<CheckResult>>[] = [];
	for (let k = 0; k < plan.rounds.length; k++) {
		const start = k * plan.interval;
		const round: Record<string, Partial<CheckResult>> = {};
		names.forEach((name, i) => {
			const last = calls[i]!.at(-1);
			if (last !== undefined) {
				const step = plan.rounds[last]![i]!;
				const lastStart = last * plan.interval;
				const settlesAt = lastStart + (step.honoursAbort ? Math.min(step.duration, plan.timeout) : step.duration);
				if (settlesAt > start) {
					round[name] = { ok: false, latencyMs: start - lastStart, at: start };
					return;
				}
			}
			calls[i]!.push(k);
			const step = plan.rounds[k]![i]!;
			if (step.duration > plan.timeout) {
				round[name] = { ok: false, latencyMs: plan.timeout, error: `timed out after ${plan.timeout} ms`, at: start + plan.timeout };
			} else if (step.fails) {
				round[name] = { ok: false, latencyMs: step.duration, error: `boom ${k} ${name}`, at: start + step.duration };
			} else {
				round[name] = { ok: true, latencyMs: step.duration, at: start + step.duration };
			}
		});
		results.push(round);
	}
	return { calls, results };
}

describe('rounds never overlap, and each round\'s status is exactly that round\'s results', () => {
	it('holds for random check durations, failures and timeouts', async () => {
		await fc.assert(
			fc.asyncProperty(planArbitrary, async (plan) => {
				vi.useFakeTimers();
				try {
					const names = plan.rounds[0]!.map((_, i) => `c${i}`);
					const t0 = Date.now();
					const calls: number[][] = names.map(() => []);
					/** Status as seen by the checks when round k started: must be round k-1's results. */
					const seenAtStart: HealthStatus[] = [];
					const running = new Set<string>();
					const violations: string[] = [];
					let ticker: ReturnType<typeof createHealthTicker> | undefined;

					const checks = Object.fromEntries(
						names.map((name, i) => [
							name,
							(signal: AbortSignal) => {
								const elapsed = Date.now() - t0;
								const k = Math.round(elapsed / plan.interval);
								if (elapsed !== k * plan.interval) violations.push(`${name} called at ${elapsed}, not on a round start`);
								if (running.has(name)) violations.push(`${name} called at ${elapsed} while its previous call runs`);
								calls[i]!.push(k);
								seenAtStart[k] ??= ticker!.status();
								const step = plan.rounds[k]?.[i] ?? IDLE;
								running.add(name);
								return new Promise<void>((resolve, reject) => {
									const timer = setTimeout(() => {
										running.delete(name);
										if (step.fails) reject(new Error(`boom ${k} ${name}`));
										else resolve();
									}, step.duration);
									if (step.honoursAbort) {
										signal.addEventListener('abort', () => {
											clearTimeout(timer);
											running.delete(name);
											reject(signal.reason);
										});
									}
								});
							},
						]),
					);
					ticker = createHealthTicker({
						checks,
						interval: plan.interval,
						timeout: plan.timeout,
						proc: false,
						maxEventLoopDelay: false,
					});
					const R = plan.rounds.length;
					// Round R starts at R * interval and shows round R - 1; 5 ms later the property is settled.
					const statusAt: HealthStatus[] = [];
					for (let k = 1; k <= R; k++) {
						await vi.advanceTimersByTimeAsync(k === 1 ? plan.interval - 1 : plan.interval);
						// Just before round k starts, the cache holds round k - 1.
						statusAt[k - 1] = ticker.status();
					}
					await vi.advanceTimersByTimeAsync(1);
					await ticker.stop();

					const model = expectedResults(plan, names);
					expect(violations).toEqual([]);
					expect(calls.map((list) => list.filter((k) => k < R))).toEqual(model.calls);
					let started = false;
					for (let k = 0; k < R; k++) {
						const expected = model.results[k]!;
						const good = Object.values(expected).every((r) => r.ok);
						started ||= good;
						for (const snapshot of [statusAt[k]!, ...(seenAtStart[k + 1] ? [seenAtStart[k + 1]!] : [])]) {
							expect(Object.keys(snapshot.checks)).toEqual(names);
							for (const name of names) {
								const actual = snapshot.checks[name]!;
								const want = expected[name]!;
								expect({ ok: actual.ok, latencyMs: actual.latencyMs, at: actual.at - t0 }).toEqual({
									ok: want.ok,
									latencyMs: want.latencyMs,
									at: want.at,
								});
								if (want.error !== undefined) expect(actual.error).toBe(want.error);
								else if (!want.ok) expect(actual.error).toMatch(/^still running from an earlier round/);
								else expect(actual.error).toBeUndefined();
							}
							expect(snapshot.ready).toBe(good);
							expect(snapshot.started).toBe(started);
						}
					}
				} finally {
					vi.useRealTimers();
				}
			}),
		);
	});
});
