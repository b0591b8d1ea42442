import type * as NodeModule from 'node:module';

type DebugFn = (formatter: string, ...args: unknown[]) => void;
type DebugFactory = (namespace: string) => DebugFn;

let factory: DebugFactory | undefined;
let envDebug: boolean | undefined;

/**
 * `debug` is loaded only when `DEBUG` is set, which is also when `debug` itself turns namespaces on: neither
 * importing graceful-proc nor a quiet shutdown pays for loading it, or for finding it on disk.
 */
function load(): DebugFactory | undefined {
	if (factory) return factory;
	// process.env is read once: each read crosses into C++, and this runs on every log call while quiet.
	envDebug ??= Boolean(globalThis.process?.env?.DEBUG);
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

/** A logger under `graceful-proc:<area>`, enabled the usual way (`DEBUG=graceful-proc:*`). */
export function createDebug(area: string): DebugFn {
	let instance: DebugFn | undefined;
	return (formatter, ...args) => {
		if (instance === undefined) {
			const make = load();
			if (make === undefined) return;
			instance = make(`graceful-proc:${area}`);
		}
		instance(formatter, ...args);
	};
}
