/**
 * Which tool a command line belongs to, as /proc shows it (process-tree.ts): the tools whose way of sending
 * signals or of restarting an app graceful-proc knows (signal-senders.ts, dev-watcher.ts).
 */
import { commandName } from './process-tree.js';

export const isShell = (argv: readonly string[]): boolean => /^(sh|bash|dash|ash|zsh)$/.test(commandName(argv));

/** `node /…/nodemon/bin/nodemon.js app.js`, or `nodemon app.js` through its bin link. */
export const isNodemon = (argv: readonly string[]): boolean => argv.slice(0, 3).some((arg) => /(^|\/)nodemon(\.js)?$/.test(arg));

/** npm rewrites its command line to its title (`npm run dev`; npx is `npm exec <bin>`); older ones show the script's path. */
export const isNpm = (argv: readonly string[]): boolean =>
	/^(npm|npx)( |$)/.test(argv[0] ?? '') || argv.slice(0, 2).some((arg) => /(^|\/)(npm|npx)(-cli\.js)?$/.test(arg));

/** PM2's daemon calls itself `PM2 v<version>: God Daemon (<home>)`. */
export const isPm2 = (argv: readonly string[]): boolean => /^PM2\b/.test(argv[0] ?? '');

/** `node --watch app.js` (or `--watch-path=…`): a watch flag among the options before the script. */
export function isNodeWatch(argv: readonly string[]): boolean {
	if (!/^node(js)?[\d.]*$/.test(commandName(argv))) return false;
	for (const arg of argv.slice(1)) {
		if (!arg.startsWith('-')) return false;
		if (/^--watch(-path)?(=|$)/.test(arg)) return true;
	}
	return false;
}
