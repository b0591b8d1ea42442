/**
 * Whether this process runs under a development watcher that restarts it on every save (nodemon,
 * `node --watch`): there is no load balancer to wait for then, so the drain's production waits are left out
 * (http/options.ts). Asked when a drain is registered, never at import; the answer is kept.
 */
import { processEnv } from './env.js';
import { parentChain, type ProcessInfo } from './process-tree.js';
import { isNodemon, isNodeWatch, isShell } from './tool-commands.js';

export type DevWatcher = 'nodemon' | 'node --watch';

export interface DevWatcherClues {
	/** The environment: `npm run dev` leaves the script in `npm_lifecycle_script`; `node --watch` marks its child. */
	readonly env: Readonly<Record<string, string | undefined>>;
	/** The processes above this one, nearest first (empty where /proc cannot be read). */
	readonly chain: readonly ProcessInfo[];
	/** Whether `chain` could be read at all: where it cannot, the environment is taken at its word. */
	readonly chainKnown: boolean;
}

/** How far up a watcher may be: `npm run dev` → sh → nodemon → (sh →) the app. */
const WATCHER_DEPTH = 3;

/** The watcher these clues point to, if any. Pure. */
export function detectDevWatcher({ env, chain, chainKnown }: DevWatcherClues): DevWatcher | undefined {
	const near = chain.slice(0, WATCHER_DEPTH);
	// nodemon marks its children with nothing of its own: its command line above us (through a shell, when it ran
	// the app with `sh -c`), or the npm script that started it, say so.
	if (/(^|[\s/])nodemon(\s|$)/.test(env.npm_lifecycle_script ?? '')) return 'nodemon';
	const parent = near[0];
	if (parent !== undefined && isNodemon(parent.argv)) return 'nodemon';
	if (parent !== undefined && isShell(parent.argv) && near[1] !== undefined && isNodemon(near[1].argv)) return 'nodemon';
	// node --watch runs the app with WATCH_REPORT_DEPENDENCIES=1 (how the child tells it what to watch); the
	// app's own children inherit it, so where /proc can be read the watcher must be the parent.
	if (env.WATCH_REPORT_DEPENDENCIES === '1' && (!chainKnown || (parent !== undefined && isNodeWatch(parent.argv)))) return 'node --watch';
	return undefined;
}

let known: { watcher: DevWatcher | undefined } | undefined;

/** This process's watcher, found once. */
export function devWatcher(): DevWatcher | undefined {
	if (known === undefined) {
		const process = globalThis.process;
		const chain = process?.platform === 'linux' ? parentChain() : [];
		const chainKnown = chain.length > 0 || (process?.ppid ?? 0) <= 1;
		known = { watcher: detectDevWatcher({ env: processEnv(), chain, chainKnown }) };
	}
	return known.watcher;
}
