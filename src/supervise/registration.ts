/**
 * What an active handle holds outside its child: a shutdown listener on the proc, a callback for the start of
 * shutdown, the shutdown-phase time reserved with the proc, and a share of the parent watchdog. Taken when a
 * handle starts (or comes back with `restart()`), given back when it ends, so a stopped handle leaves nothing.
 */
import { createDebug } from '../debug.js';
import { RESERVE_TIME } from '../time-budget.js';
import type { WaitFunction } from '../types.js';
import { MAX_TIMER_MS } from '../validate.js';
import { OUTPUT_GRACE_MS } from './launch.js';
import type { ResolvedOptions } from './options.js';
import { type ParentWatchdog, parentWatchdog } from './parent-watchdog.js';
import { onShutdownStart } from './shutdown-start.js';

const log = createDebug('supervise');

/**
 * On shutdown the SIGKILL lands this long before the proc's force-quit deadline, so that the child is gone
 * (and its exit seen) before the parent exits.
 */
const DEADLINE_MARGIN_MS = 100;

type ReserveTime = (phase: 'wrap-up' | 'shutdown', ms: number, who: string) => () => void;

export interface RegistrationHooks {
	/** The shutdown phase: stop the child, SIGKILL at `killAt` at the latest, or at once when `signal` aborts. */
	onShutdown(killAt: number, signal: AbortSignal): Promise<void>;
	/** Shutdown has started (before any listener runs): nothing is to be started again. */
	onShutdownStart(): void;
}

export class Registration {
	readonly #o: ResolvedOptions;
	readonly #hooks: RegistrationHooks;
	#wait: WaitFunction | undefined;
	#offShutdownStart: (() => void) | undefined;
	/** Gives back the shutdown-phase time reserved with the proc. */
	#releaseTime: (() => void) | undefined;
	#usesWatchdog = false;

	constructor(options: ResolvedOptions, hooks: RegistrationHooks) {
		this.#o = options;
		this.#hooks = hooks;
	}

	/** The parent watchdog while this handle has a share of it, to tell about its children. */
	get watchdog(): ParentWatchdog | undefined {
		return this.#usesWatchdog ? parentWatchdog : undefined;
	}

	activate(): void {
		const { proc, name } = this.#o;
		this.#wait = proc.addShutdownListener((ctx) => this.#hooks.onShutdown(ctx.deadline - DEADLINE_MARGIN_MS, ctx.signal), {
			name: `supervise:${name}`,
		});
		this.#offShutdownStart ??= onShutdownStart(proc.signal, () => this.#hooks.onShutdownStart());
		this.#reserveTime();
		if (this.#o.watchdog && !this.#usesWatchdog) {
			parentWatchdog.acquire();
			this.#usesWatchdog = true;
		}
	}

	deactivate(): void {
		this.#wait?.remove();
		this.#wait = undefined;
		this.#offShutdownStart?.();
		this.#offShutdownStart = undefined;
		this.#releaseTime?.();
		this.#releaseTime = undefined;
		if (this.#usesWatchdog) {
			parentWatchdog.release();
			this.#usesWatchdog = false;
		}
	}

	/**
	 * The stop listener runs in the shutdown phase and may rightly take `stopTimeout`, then the SIGKILL margin
	 * and the wait for the child's last output: reserved, so that a default force-quit time does not cut it.
	 */
	#reserveTime(): void {
		if (this.#releaseTime !== undefined) return;
		const ms = Math.min(MAX_TIMER_MS, this.#o.stopTimeout + DEADLINE_MARGIN_MS + OUTPUT_GRACE_MS);
		try {
			// A proc of an older copy of the package has no such method, and is simply not asked.
			const proc = this.#o.proc as unknown as { [RESERVE_TIME]?: ReserveTime };
			const release = proc[RESERVE_TIME]?.call(proc, 'shutdown', ms, `supervise:${this.#o.name}`);
			if (typeof release === 'function') this.#releaseTime = release;
		} catch (error) {
			// Another copy's proc may say no; supervision goes on with the times as they are.
			log('%s: could not reserve %d ms with the proc: %o', this.#o.name, ms, error);
		}
	}
}
