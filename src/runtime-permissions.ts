/**
 * Deno asks for a permission before a program reads the environment or a file: a prompt at a terminal, an error
 * elsewhere. What graceful-proc reads on its own (PM2's and systemd's variables, /proc) is optional, so it asks
 * first, without prompting, and does without what is not granted (so does the watchdog's inspector session). Under Node and Bun every answer is yes.
 */

/** What graceful-proc may use on its own: an environment variable, a file, the inspector (the watchdog's). */
export type Readable =
	| { readonly name: 'env'; readonly variable: string }
	| { readonly name: 'read'; readonly path: string }
	| { readonly name: 'sys'; readonly kind: 'inspector' };

interface DenoPermissions {
	querySync?(descriptor: Readable): { readonly state: string };
}

/**
 * Whether `what` is allowed without asking: true where the runtime has no permissions to ask about; under Deno,
 * only what its flags grant (`--allow-env`, `--allow-read`, `--allow-sys`, `-A`). Never prompts, never throws.
 */
export function granted(what: Readable): boolean {
	const permissions = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions;
	if (typeof permissions?.querySync !== 'function') return true;
	try {
		return permissions.querySync(what).state === 'granted';
	} catch {
		return false;
	}
}
