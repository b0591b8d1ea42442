/**
 * Whether Deno's flags grant what graceful-proc does on its own (its variables, /proc, the inspector, the
 * termination log), asked without a prompt, so that it does without what is not granted; elsewhere always yes.
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
