import { createRequire } from 'node:module';

type DebugFn = (formatter: string, ...args: unknown[]) => void;
type DebugFactory = ((namespace: string) => DebugFn & { enabled: boolean }) | undefined;

let factory: DebugFactory | null = null;

/** `debug` is loaded on the first log call, not at import, so importing graceful-proc stays cheap. */
function load(): DebugFactory {
	if (factory === null) {
		try {
			factory = createRequire(import.meta.url)('debug') as DebugFactory;
		} catch {
			factory = undefined;
		}
	}
	return factory;
}

/** A logger under `graceful-proc:<area>`, enabled the usual way (`DEBUG=graceful-proc:*`). */
export function createDebug(area: string): DebugFn {
	let instance: DebugFn | undefined;
	return (formatter, ...args) => {
		if (instance === undefined) {
			const make = load();
			instance = make ? make(`graceful-proc:${area}`) : () => {};
		}
		instance(formatter, ...args);
	};
}
