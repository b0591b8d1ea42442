/**
 * What follows a child's own exit (one nobody asked for): the end, a restart after the backoff wait, or
 * giving up after too many failed starts in a row. Pure: the supervisor does what it says.
 */
import { backoffDelay } from './backoff.js';
import type { ResolvedOptions } from './options.js';
import { startRule } from './start-watch.js';
import { describeExit, SuperviseError } from './supervise-error.js';

export interface ChildExit {
	readonly code: number | null;
	readonly signal: NodeJS.Signals | null;
	/** Whether the run counted as started before it ended. */
	readonly good: boolean;
	/** The child was stopped because it was not ready in time: a failed start, whatever its exit code. */
	readonly notReady: SuperviseError | undefined;
	/** Failed starts in a row before this one. */
	readonly failures: number;
	/** The proc's shutdown has started: nothing is started again. */
	readonly shuttingDown: boolean;
}

export type RestartDecision =
	| { readonly then: 'exit' }
	| { readonly then: 'restart'; readonly failures: number; readonly delay: number }
	| { readonly then: 'give-up'; readonly error: SuperviseError };

export function decideRestart(exit: ChildExit, o: ResolvedOptions): RestartDecision {
	const { code, signal } = exit;
	const success = exit.notReady === undefined && signal === null && code !== null && o.expectedExitCodes.includes(code);
	if (exit.shuttingDown || o.restart === 'never' || (o.restart === 'on-failure' && success)) return { then: 'exit' };
	const failures = exit.good && exit.notReady === undefined ? exit.failures : exit.failures + 1;
	if (failures <= o.maxRestarts) return { then: 'restart', failures, delay: backoffDelay(failures, o.backoff) };
	const starts = `${failures} start${failures === 1 ? '' : 's'}`;
	const last =
		exit.notReady === undefined
			? `ended with ${describeExit(code, signal)} before ${o.ready === undefined ? `${o.startMs / 1000}s` : `it counted as started (${startRule(o)})`}`
			: `was not ready within readyTimeout (${o.readyTimeout} ms)`;
	const message = `\`${o.name}\` failed ${starts} in a row (the last ${last}), more than maxRestarts (${o.maxRestarts}); not restarting it`;
	return { then: 'give-up', error: new SuperviseError(message, { child: o.name, exitCode: code, signalCode: signal }) };
}
