/**
 * Debug logging under `graceful-proc:<area>`, enabled the usual way (`DEBUG=graceful-proc:*`). The `debug`
 * package is loaded only when `DEBUG` is set, so neither importing the core nor a quiet shutdown pays for it.
 */
import type * as NodeModule from 'node:module';
import { envVar } from './env.js';

type DebugFn = ((formatter: string, ...args: unknown[]) => void) & { enabled?: boolean };
type DebugFactory = (namespace: string) => DebugFn;

let factory: DebugFactory | undefined;
let envDebug: boolean | undefined;

/**
 * `debug` is loaded only when `DEBUG` is set, which is also when `debug` itself turns namespaces on: neither
 * importing graceful-proc nor a quiet shutdown pays for loading it, or for finding it on disk.
 */
function load(): DebugFactory | undefined {
	if (factory) return factory;
	// process.env is read once: each read crosses into C++.
	envDebug ??= Boolean(envVar('DEBUG'));
	if (!envDebug) return undefined;
	try {
		// node:module is taken from Node only now: a static import would load it with the core, asked for or not.
		const { createRequire } = globalThis.process.getBuiltinModule('node:module') as unknown as typeof NodeModule;
		factory = createRequire(import.meta.url)('debug') as DebugFactory;
	} catch {
		envDebug = false;
	}
	return factory;
}

/** What createDebug() returns: `debug`'s call signature and its `enabled`. */
export interface Debug {
	(formatter: string, ...args: unknown[]): void;
	/**
	 * Whether this area logs. Hot paths (one call per listener) ask first: a quiet call then builds no
	 * argument list. Asking loads `debug` only when `DEBUG` is set, like a call would.
	 */
	readonly enabled: boolean;
}

/** A logger under `graceful-proc:<area>`, enabled the usual way (`DEBUG=graceful-proc:*`). */
export function createDebug(area: string): Debug {
	// undefined: not asked yet; null: quiet for good (DEBUG unset, or `debug` could not be loaded).
	let instance: DebugFn | null | undefined;
	const resolve = (): DebugFn | null => {
		if (instance === undefined) {
			const make = load();
			instance = make === undefined ? null : make(`graceful-proc:${area}`);
		}
		return instance;
	};
	const log = ((formatter: string, ...args: unknown[]) => {
		const debug = instance === undefined ? resolve() : instance;
		if (debug !== null) debug(formatter, ...args);
	}) as Debug;
	Object.defineProperty(log, 'enabled', {
		get: () => {
			const debug = instance === undefined ? resolve() : instance;
			if (debug !== null) return debug.enabled !== false;
			// Quiet for good: from now on a plain `false`, which a shutdown asks thousands of times without a call.
			Object.defineProperty(log, 'enabled', { value: false, configurable: true });
			return false;
		},
		configurable: true,
	});
	return log;
}
