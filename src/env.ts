/**
 * The environment as graceful-proc reads it: `process.env`, but a variable the runtime may not let it read (Deno
 * without `--allow-env`) is unset, never an error or a prompt, and that is said once, with a code.
 */
import { granted } from './runtime-permissions.js';

export const ENV_NOT_READABLE = 'GRACEFUL_PROC_ENV_NOT_READABLE';

/** Set on the first warning: said once per process, for every proc and copy of the package. */
const WARNED = Symbol.for('graceful-proc.env.warnedNotReadable');

/** One variable, or undefined when it is unset or may not be read. */
export function envVar(name: string): string | undefined {
	const env = globalThis.process?.env;
	if (env === undefined || env === null) return undefined;
	if (!granted({ name: 'env', variable: name })) {
		notReadable(name);
		return undefined;
	}
	try {
		return env[name];
	} catch {
		notReadable(name);
		return undefined;
	}
}

/** A read-only view of the environment through envVar(), for code that takes an `env` object. */
const view: Readonly<Record<string, string | undefined>> = new Proxy(Object.freeze({}), {
	get: (_, name) => (typeof name === 'string' ? envVar(name) : undefined),
});

/** The environment: `process.env` itself where every variable may be read, else the view. */
export function processEnv(): Readonly<Record<string, string | undefined>> {
	const env = globalThis.process?.env;
	if (env === undefined || env === null) return {};
	return (globalThis as { Deno?: unknown }).Deno === undefined ? env : view;
}

function notReadable(name: string): void {
	const registry = globalThis as Record<symbol, unknown>;
	if (registry[WARNED]) return;
	registry[WARNED] = true;
	try {
		globalThis.process.emitWarning(
			`graceful-proc: the runtime does not let it read the environment variable ${name} (Deno: --allow-env); variables it cannot ` +
				'read are taken as unset, so PM2, systemd (NOTIFY_SOCKET, LISTEN_FDS) and nodemon are not recognised, and DEBUG does not ' +
				'turn on its logs. Run with --allow-env (or -A) to let it see them.',
			{ code: ENV_NOT_READABLE },
		);
	} catch {}
}
