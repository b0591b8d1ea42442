/**
 * Nodemon, which restarts an app with SIGUSR2 and waits for it to exit: whether it started this process, so that
 * the default signals take its restart signal too.
 */
import { devWatcher } from './dev-watcher.js';

/**
 * Whether this process was started by nodemon, which restarts an app by sending it SIGUSR2 (its default
 * `signal`) and waiting for it to exit (see dev-watcher.ts for how it is recognised). Asked once, when the first
 * listener installs the handlers; never at import.
 */
export function underNodemon(): boolean {
	return devWatcher() === 'nodemon';
}
