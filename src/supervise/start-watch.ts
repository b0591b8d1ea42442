/**
 * When a new child counts as started: once it has stayed up for `startSecs`, counted from the spawn, or from
 * readiness where `ready` is configured (then a child not ready within `readyTimeout` fails its start). Until
 * then its exit is a failed start (for a reload's replacement, a failed reload: the old child keeps running).
 */
import type { ChildProcess } from 'node:child_process';
import type { ResolvedOptions } from './options.js';
import { type FileBaseline, fileBaseline, watchReadiness } from './readiness.js';
import { SuperviseError } from './supervise-error.js';

export interface StartWatchCallbacks {
	/** The child counts as started. */
	started(): void;
	/** The child was not ready within `readyTimeout`: it is to be stopped, as a failed start. */
	notReady(error: SuperviseError): void;
}

/** How a start is judged, for messages: `1s`, or `ready, then 1s`. */
export function startRule(o: ResolvedOptions): string {
	return o.ready === undefined ? `${o.startMs / 1000}s` : `ready, then ${o.startMs / 1000}s`;
}

export class StartWatch {
	readonly #o: ResolvedOptions;
	readonly #baseline: FileBaseline;
	/** performance.now() from which `startSecs` counts: the spawn, or readiness; undefined until ready. */
	#countFrom: number | undefined;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#stopWatching: (() => void) | undefined;

	/** Made just before the spawn (a readiness file is looked at before the new child can write it). */
	constructor(o: ResolvedOptions) {
		this.#o = o;
		this.#baseline = fileBaseline(o.ready);
		if (o.ready === undefined) this.#countFrom = performance.now();
	}

	/** Whether a start counts with no wait at all (`startSecs: 0`, no readiness). */
	get immediate(): boolean {
		return this.#o.startMs === 0 && this.#o.ready === undefined;
	}

	/** Calls `started` once `child` counts as started, or `notReady` at `readyTimeout`, unless cancel() comes first. */
	arm(child: ChildProcess, callbacks: StartWatchCallbacks): void {
		const o = this.#o;
		if (o.ready === undefined) {
			this.#count(o.startMs, callbacks.started);
			return;
		}
		const stopWatching = watchReadiness(child, o.ready, this.#baseline, () => {
			clearTimeout(this.#timer);
			this.#countFrom = performance.now();
			this.#count(o.startMs, callbacks.started);
		});
		this.#stopWatching = stopWatching;
		this.#timer = setTimeout(() => {
			stopWatching();
			const message = `\`${o.name}\` was not ready within readyTimeout (${o.readyTimeout} ms)`;
			callbacks.notReady(new SuperviseError(message, { child: o.name }));
		}, o.readyTimeout);
		this.#timer.unref?.();
	}

	/** Whether the child has counted as started, even if the timer has not fired yet. */
	reached(): boolean {
		return this.#countFrom !== undefined && performance.now() - this.#countFrom >= this.#o.startMs;
	}

	cancel(): void {
		this.#stopWatching?.();
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	#count(ms: number, started: () => void): void {
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			started();
		}, ms);
		// The child's own handle keeps the parent alive; this timer only reports on it.
		this.#timer.unref?.();
	}
}
