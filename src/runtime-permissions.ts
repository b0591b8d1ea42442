/**
 * Deno asks for a permission before a program reads the environment or a file: a prompt at a terminal, an error
 * elsewhere. What graceful-proc does on its own (reading PM2's and systemd's variables and /proc, the watchdog's
 * inspector session, the termination log written on the way out) is optional, so it asks first, without
 * prompting, and does without what is not granted. Under Node and Bun every answer is yes.
 */

/** What graceful-proc may use on its own: an environment variable, a file, the inspector (the watchdog's). */
export type Permission =
	| { readonly name: 'env'; readonly variable: string }
	| { readonly name: 'read' | 'write'; readonly path: string }
	| { readonly name: 'sys'; readonly kind: 'inspector' };

interface DenoPermissions {
	querySync?(descriptor: Permission): { readonly state: string };
}

/**
 * Whether `what` is allowed without asking: true where the runtime has no permissions to ask about; under Deno,
 * only what its flags grant (`--allow-env`, `--allow-read`, `--allow-write`, `--allow-sys`, `-A`). Never prompts,
 * never throws.
 */
export function granted(what: Permission): boolean {
	const permissions = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions;
	if (typeof permissions?.querySync !== 'function') return true;
	try {
		return permissions.querySync(what).state === 'granted';
	} catch {
		return false;
	}
}
