/**
 * The handle `supervise()` returns: the public face of a supervisor, an EventEmitter with the child's state,
 * its counts and the calls that stop, restart and reload it.
 */
import type { EventEmitter } from 'node:events';
import type { SuperviseState } from './options.js';
import type { SuperviseError } from './supervise-error.js';

/** The handle `supervise()` returns. */
export interface SupervisedProcess extends EventEmitter {
	/** The child's name (`options.name`). */
	readonly name: string;
	/** Where the child is in its life; every change emits `'state'`. */
	readonly state: SuperviseState;
	/** The running child's pid; undefined before it is spawned, in backoff and once it has exited. */
	readonly pid: number | undefined;
	/** How many times a new child was started after the first (by the policy or by `restart()`). */
	readonly restarts: number;
	/** The exit code of the last run, null if it ended by a signal or has not ended yet. */
	readonly exitCode: number | null;
	/** The signal that ended the last run, if one did. */
	readonly signalCode: NodeJS.Signals | null;
	/** Why the state is `'fatal'`. */
	readonly error: SuperviseError | undefined;
	/**
	 * Stop for good: `stopSignal`, then SIGKILL after `stopTimeout`; no restart after that. Resolves once
	 * the child has exited; calling it again returns the same promise.
	 */
	stop(): Promise<void>;
	/**
	 * Stop the child (as `stop()` does) and start a new one at once, without backoff; also brings an
	 * `'exited'` or `'fatal'` child back. Resolves once the new child is spawned. Rejects once shutdown has started.
	 */
	restart(): Promise<void>;
	/**
	 * A graceful replacement of a `'running'` child: a new child is spawned first (state `'starting'`) and, once
	 * it counts as started (up for `startSecs`; with `ready`, ready and then up for `startSecs`), takes over
	 * (state `'running'`, `restarts` + 1) while the old one is stopped as `stop()` does. Resolves once the old
	 * child has exited; at no moment does no child run. If the replacement cannot be spawned, exits before it
	 * counts as started or is not ready within `readyTimeout`, the old child keeps running (state back to
	 * `'running'`) and it rejects with the reason. Without `ready`, the replacement is judged by time alone. Rejects at once during shutdown, while stopping, and when no
	 * child is running; `stop()` and shutdown during a reload stop both children and reject it.
	 */
	reload(): Promise<void>;

	on(event: 'state', listener: (state: SuperviseState, previous: SuperviseState) => void): this;
	on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
	on(event: 'error', listener: (error: SuperviseError) => void): this;
	on(event: string | symbol, listener: (...args: any[]) => void): this;
	once(event: 'state', listener: (state: SuperviseState, previous: SuperviseState) => void): this;
	once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
	once(event: 'error', listener: (error: SuperviseError) => void): this;
	once(event: string | symbol, listener: (...args: any[]) => void): this;
	off(event: 'state', listener: (state: SuperviseState, previous: SuperviseState) => void): this;
	off(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
	off(event: 'error', listener: (error: SuperviseError) => void): this;
	off(event: string | symbol, listener: (...args: any[]) => void): this;
}
