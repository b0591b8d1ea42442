import { createRequire } from 'node:module';

type DebugFn = (formatter: string, ...args: unknown[]) => void;
type DebugFactory = (namespace: string) => DebugFn;

let factory: DebugFactory | undefined;
let resolved: string | null | undefined;
let envDebug: boolean | undefined;
// Made once: createRequire() costs ~15 µs, and load() runs on every log call while debugging is off.
let localRequire: NodeJS.Require | undefined;

/**
 * `debug` is loaded only when it can print something: `DEBUG` is set, or the application already loaded
 * `debug` itself (and may have called `debug.enable()`). Loading it costs more than a shutdown listener, so
 * neither importing graceful-proc nor a quiet shutdown pays for it.
 */
function load(): DebugFactory | undefined {
	if (factory) return factory;
	const require = (localRequire ??= createRequire(import.meta.url));
	if (resolved === undefined) {
		try {
			resolved = require.resolve('debug');
		} catch {
			resolved = null;
		}
	}
	if (resolved === null) return undefined;
	// process.env is read once: each read crosses into C++, and this runs on every log call while quiet.
	envDebug ??= Boolean(globalThis.process?.env?.DEBUG);
	if (!envDebug && !(resolved in require.cache)) return undefined;
	factory = require(resolved) as DebugFactory;
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
