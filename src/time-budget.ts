/**
 * A proc's two times, `timeToWrapUp` and `timeToForceQuit`: as the user set them, or, left unset, following what
 * the registered listeners reserve; a time that cannot hold them, or an outside kill such as PM2's, is reported.
 */
import type { Phase } from './types.js';
import { assertDuration, assertOneOf, assertString } from './validate.js';

/** What the two times are when nothing asks for more: 1 s to wrap up, 4.5 s more to shut down. */
export const DEFAULT_TIME_TO_WRAP_UP = 1000;
export const DEFAULT_TIME_TO_FORCE_QUIT = 5500;
const DEFAULT_SHUTDOWN_TIME = DEFAULT_TIME_TO_FORCE_QUIT - DEFAULT_TIME_TO_WRAP_UP;

/**
 * Where a component that registers a listener (drain, supervise) says how long that listener may rightly take,
 * so that a default time never cuts it. Keyed by `Symbol.for` so that another copy of the package can call it.
 */
export const RESERVE_TIME = Symbol.for('graceful-proc.reserveTime');

export const TIMES_DO_NOT_FIT = 'GRACEFUL_PROC_TIMES_DO_NOT_FIT';

/** How long before an outside kill (PM2's kill_timeout) our own deadline fires, so the report is out first. */
export const OUTSIDE_KILL_MARGIN = 250;

/** A kill that comes from outside at a fixed time after the stop signal, such as PM2's `kill_timeout`. */
export interface OutsideKill {
	readonly ms: number;
	/** Who kills, and the setting that moves it, for the warning: e.g. 'PM2 (kill_timeout)'. */
	readonly who: string;
	/** How to raise it, given the milliseconds needed. */
	readonly fix: (ms: number) => string;
}

interface Reservation {
	readonly phase: Phase;
	readonly ms: number;
	readonly who: string;
}

/**
 * The two times of a proc. A time the user set is kept as set; a time left unset follows from what was
 * registered: `timeToWrapUp` is the longest wrap-up reservation (at least 1 s), `timeToForceQuit` leaves after it
 * the longest shutdown reservation (at least 4.5 s). A time the user set that cannot hold what was registered is
 * reported at once, with the numbers and the fix, instead of surfacing as a cut request during a deploy.
 */
export class TimeBudget {
	#forceQuit: number | undefined;
	#wrapUp: number | undefined;
	readonly #reservations = new Set<Reservation>();
	readonly #warn: (message: string) => void;
	readonly #warned = new Set<string>();
	#outsideKill: OutsideKill | undefined;

	constructor(warn: (message: string) => void) {
		this.#warn = warn;
	}

	get timeToWrapUp(): number {
		return this.#wrapUp ?? Math.max(DEFAULT_TIME_TO_WRAP_UP, this.#longest('wrap-up')?.ms ?? 0);
	}

	get timeToForceQuit(): number {
		if (this.#forceQuit !== undefined) return this.#forceQuit;
		const wanted = Math.max(DEFAULT_TIME_TO_FORCE_QUIT, this.timeToWrapUp + Math.max(DEFAULT_SHUTDOWN_TIME, this.#longest('shutdown')?.ms ?? 0));
		if (this.#outsideKill === undefined) return wanted;
		// Under an outside kill, an unset deadline comes before it, so that the report is written rather than lost
		// to a SIGKILL; but never before what the listeners need (that misfit is reported instead).
		return Math.min(wanted, Math.max(this.#needed(), this.#outsideKill.ms - OUTSIDE_KILL_MARGIN));
	}

	/**
	 * Set once, for the real process, when something outside will kill it at a fixed time (PM2). Checked when a
	 * time is set or reserved, not here: this runs when the process-wide proc is made, at import.
	 */
	setOutsideKill(kill: OutsideKill): void {
		this.#outsideKill = kill;
	}

	#needed(): number {
		return this.timeToWrapUp + (this.#longest('shutdown')?.ms ?? 0);
	}

	/** Both validated by the caller before either is applied, so a refused call changes nothing. */
	set(times: { timeToForceQuit?: number | undefined; timeToWrapUp?: number | undefined }): void {
		if (times.timeToForceQuit !== undefined) this.#forceQuit = times.timeToForceQuit;
		if (times.timeToWrapUp !== undefined) this.#wrapUp = times.timeToWrapUp;
		this.#check();
	}

	reserve(phase: unknown, ms: unknown, who: unknown): () => void {
		assertOneOf('phase', phase, ['wrap-up', 'shutdown'] as const);
		assertDuration('ms', ms);
		assertString('who', who);
		const reservation: Reservation = { phase, ms, who };
		this.#reservations.add(reservation);
		this.#check();
		return () => {
			this.#reservations.delete(reservation);
		};
	}

	#longest(phase: Phase): Reservation | undefined {
		let longest: Reservation | undefined;
		for (const r of this.#reservations) if (r.phase === phase && (longest === undefined || r.ms > longest.ms)) longest = r;
		return longest;
	}

	#check(): void {
		const wrapUp = this.#longest('wrap-up');
		if (this.#wrapUp !== undefined && wrapUp !== undefined && wrapUp.ms > this.#wrapUp) {
			this.#report(
				`graceful-proc: timeToWrapUp is ${this.#wrapUp} ms, but the wrap-up listener \`${wrapUp.who}\` may take ${wrapUp.ms} ms, so it would be cut: ` +
					`call setTimeToWrapUp(${wrapUp.ms}) or more, or leave timeToWrapUp unset so that it follows what is registered`,
			);
		}
		const shutdown = this.#longest('shutdown');
		const needed = this.#needed();
		const kill = this.#outsideKill;
		if (kill !== undefined) {
			const deadline = this.timeToForceQuit;
			const want = Math.max(deadline, needed) + OUTSIDE_KILL_MARGIN;
			if (want > kill.ms) {
				this.#report(
					`graceful-proc: ${kill.who} kills this process ${kill.ms} ms after its stop signal, but ` +
						(this.#forceQuit !== undefined && this.#forceQuit >= needed
							? `timeToForceQuit is ${this.#forceQuit} ms`
							: `the listeners registered need ${needed} ms${(shutdown ?? wrapUp) ? ` (\`${(shutdown ?? wrapUp)!.who}\`)` : ''}`) +
						`, so the shutdown would be cut without a report: ${kill.fix(want)}`,
				);
			}
		}
		if (this.#forceQuit === undefined) return;
		const neededBy = shutdown ?? wrapUp;
		if (neededBy !== undefined && needed > this.#forceQuit) {
			this.#report(
				`graceful-proc: timeToForceQuit is ${this.#forceQuit} ms, but the listeners registered need ${needed} ms ` +
					`(wrap-up ${this.timeToWrapUp} ms${shutdown ? `, then \`${shutdown.who}\` ${shutdown.ms} ms` : ''}), so \`${neededBy.who}\` would be cut: ` +
					`call setTimeToForceQuit(${needed}) or more, or leave timeToForceQuit unset so that it follows what is registered`,
			);
		}
	}

	#report(message: string): void {
		if (this.#warned.has(message)) return;
		this.#warned.add(message);
		this.#warn(message);
	}
}
