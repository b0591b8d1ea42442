/**
 * Tracked work (`proc.track(fn)`): units of work that are not HTTP requests (a queue consumer's jobs), which the
 * wrap-up phase waits for as the listener `tracked work`. Once the sequence has started no unit starts; each
 * unit's signal aborts a tail before the deadline, and the listener names the units that the deadline cut.
 */
import { getEventListeners } from 'node:events';
import { createDebug } from './debug.js';
import { NotAcceptingError, TrackedWorkCutError } from './errors.js';
import type { ListenerContext, Phase, Proc, TrackedUnit, TrackOptions } from './types.js';
import { assertDuration, assertFunction, assertOptions, assertString } from './validate.js';

const log = createDebug('proc');

/** The name of the wrap-up listener that waits for the units, in the report. */
export const TRACKED_WORK = 'tracked work';

/**
 * How long before the deadline a unit's signal aborts, so that it can stop on its own terms (give its job back,
 * roll back, write a checkpoint): 1 s, or a quarter of the time from the trigger when that is shorter.
 */
export const TRACKED_TAIL = 1000;

/** How long before the deadline the listener stops waiting and names the units still running: 100 ms at most. */
export const TRACKED_GIVE_UP = 100;

/** How many unit names a TrackedWorkCutError's message lists; its `units` has them all. */
const NAMES_SHOWN = 20;

/** What the tracker needs of its proc. */
export interface TrackerHost {
	readonly proc: Pick<Proc, 'addWrapUpListener' | 'signal' | 'state'>;
	/** Reserve wrap-up time (TimeBudget), so that the unset times hold the units in flight. Returns the release. */
	reserve(phase: Phase, ms: number, who: string): () => void;
	/** How long before the deadline the listeners are forced (the final listeners' slice); 0 without them. */
	forcedBefore(): number;
}

/**
 * AbortControllers that ended units leave behind, for the next units: Node makes an AbortSignal slowly (a few µs,
 * more than a small job's own bookkeeping), and a consumer may run thousands of units a second. One is reused only
 * when nothing can tell it was handed out before (see reusableController): not aborted, no 'abort' listener left.
 */
const SPARES = 32;

/** One unit in flight. Its AbortController is taken only if the unit reads its signal. */
class Unit implements TrackedUnit {
	controller: AbortController | undefined;
	#aborted = false;
	#reason: unknown;

	constructor(
		readonly name: string,
		readonly take: () => AbortController,
	) {}

	get signal(): AbortSignal {
		if (this.controller === undefined) {
			this.controller = this.take();
			if (this.#aborted) this.controller.abort(this.#reason);
		}
		return this.controller.signal;
	}

	get aborted(): boolean {
		return this.#aborted;
	}

	abort(reason: unknown): void {
		if (this.#aborted) return;
		this.#aborted = true;
		this.#reason = reason;
		this.controller?.abort(reason);
	}
}

const TRACK_OPTIONS = ['name', 'grace'] as const;

function assertTrack(fn: unknown, options: TrackOptions | undefined): void {
	assertFunction('fn', fn);
	assertOptions('options', options, TRACK_OPTIONS);
	if (options?.name !== undefined) assertString('options.name', options.name);
	if (options?.grace !== undefined) assertDuration('options.grace', options.grace);
}

/**
 * The units of one proc. The listener is registered with the first unit and stays (a worker that takes one job
 * at a time would otherwise install and remove its signal handlers with every job).
 */
export class Tracker {
	readonly #host: TrackerHost;
	/** The units in flight, in the order they started. */
	readonly #running = new Set<Unit>();
	#registered = false;
	/** How many units were ever started: the number in an anonymous unit's name (`unit#3`). */
	#started = 0;
	/** Per grace, the units in flight that asked for it and the release of its one reservation. */
	readonly #graces = new Map<number, { count: number; release: () => void }>();
	/** Set while the listener waits: told when the last unit has ended. */
	#onIdle: (() => void) | undefined;
	/** Controllers of ended units, for the next units to take (see SPARES). */
	readonly #spares: AbortController[] = [];
	readonly #take = (): AbortController => this.#spares.pop() ?? new AbortController();

	constructor(host: TrackerHost) {
		this.#host = host;
	}

	/** The units in flight (for tests and diagnostics). */
	get size(): number {
		return this.#running.size;
	}

	track<T>(fn: (unit: TrackedUnit) => T | PromiseLike<T>, options?: TrackOptions): Promise<Awaited<T>> {
		assertTrack(fn, options);
		const name = options?.name ?? (fn.name || `unit#${this.#started + 1}`);
		const { proc } = this.#host;
		if (proc.state !== 'running' || proc.signal.aborted) return Promise.reject(new NotAcceptingError(name, proc.signal.reason));
		if (!this.#registered) {
			proc.addWrapUpListener((context) => this.#wrapUp(context), { name: TRACKED_WORK });
			this.#registered = true;
		}
		this.#started += 1;
		const unit = new Unit(name, this.#take);
		this.#running.add(unit);
		const grace = options?.grace;
		if (grace !== undefined) this.#reserve(grace);
		let result: Promise<Awaited<T>>;
		try {
			result = Promise.resolve(fn(unit)) as Promise<Awaited<T>>;
		} catch (error) {
			result = Promise.reject(error);
		}
		// The caller's promise settles once the unit no longer counts, with the unit's own value or error.
		return result.then(
			(value) => {
				this.#end(unit, grace);
				return value;
			},
			(error: unknown) => {
				this.#end(unit, grace);
				throw error;
			},
		);
	}

	/** One reservation per grace value in use, so that units that start and end do not churn the budget. */
	#reserve(grace: number): void {
		const held = this.#graces.get(grace);
		if (held !== undefined) held.count += 1;
		else this.#graces.set(grace, { count: 1, release: this.#host.reserve('wrap-up', grace, TRACKED_WORK) });
	}

	#end(unit: Unit, grace: number | undefined): void {
		this.#running.delete(unit);
		const { controller } = unit;
		if (controller !== undefined && this.#spares.length < SPARES && !controller.signal.aborted && getEventListeners(controller.signal, 'abort').length === 0) {
			this.#spares.push(controller);
		}
		// Once the sequence has started its times are fixed: a reservation is released only while running.
		if (grace !== undefined && this.#host.proc.state === 'running') {
			const held = this.#graces.get(grace)!;
			held.count -= 1;
			if (held.count === 0) {
				this.#graces.delete(grace);
				held.release();
			}
		}
		if (this.#running.size === 0) this.#onIdle?.();
	}

	/**
	 * The listener: resolves when the units in flight have ended; at a tail before the deadline aborts the signals
	 * of those left, and just before the deadline gives up on them, rejecting with the names of the units it cut.
	 */
	#wrapUp(context: ListenerContext): Promise<void> | undefined {
		if (this.#running.size === 0) return undefined;
		log('tracked work: waiting for %d units', this.#running.size);
		const cutAt = context.deadline - this.#host.forcedBefore();
		const left = Math.max(0, cutAt - Date.now());
		const tail = Math.min(TRACKED_TAIL, left / 4);
		const cut: Unit[] = [];
		return new Promise<void>((resolve, reject) => {
			const finish = () => {
				clearTimeout(abortTimer);
				clearTimeout(giveUpTimer);
				context.signal.removeEventListener('abort', onForced);
				this.#onIdle = undefined;
				if (cut.length === 0) return resolve();
				reject(cutError(cut.map((unit) => ({ name: unit.name, running: this.#running.has(unit) }))));
			};
			const abortAll = (reasonFor: (unit: Unit) => unknown) => {
				for (const unit of this.#running) {
					if (unit.aborted) continue;
					cut.push(unit);
					unit.abort(reasonFor(unit));
				}
			};
			const abortTimer = setTimeout(() => {
				log('tracked work: aborting %d units, %d ms before the deadline', this.#running.size, Math.round(tail));
				abortAll((unit) => new TrackedWorkCutError(`Tracked unit \`${unit.name}\` was cut: the force-quit deadline is ${Math.round(tail)} ms away`, [unit.name], [unit.name]));
			}, left - tail);
			const giveUpTimer = setTimeout(finish, left - Math.min(TRACKED_GIVE_UP, tail / 4));
			// Forced earlier (a second Ctrl+C): the units are told at once, with the listener's own reason.
			const onForced = () => abortAll(() => context.signal.reason);
			context.signal.addEventListener('abort', onForced, { once: true });
			// The process stays up for the units' own handles, and for the proc's deadline, not for these timers.
			abortTimer.unref?.();
			giveUpTimer.unref?.();
			this.#onIdle = finish;
		});
	}
}

/** The listener's error: every unit it cut, and which of them were still running when it gave up. */
function cutError(units: Array<{ name: string; running: boolean }>): TrackedWorkCutError {
	const shown = units.slice(0, NAMES_SHOWN).map(({ name, running }) => `\`${name}\` (${running ? 'still running' : 'aborted, then ended'})`);
	const more = units.length > NAMES_SHOWN ? `, and ${units.length - NAMES_SHOWN} more` : '';
	const count = units.length === 1 ? '1 unit' : `${units.length} units`;
	const names = units.map((unit) => unit.name);
	const running = units.filter((unit) => unit.running).map((unit) => unit.name);
	return new TrackedWorkCutError(`Tracked work cut by the deadline, ${count}: ${shown.join(', ')}${more}`, names, running);
}
