// The process-wide list of running drains that drainSignal() asks, shared by every copy of the package loaded in
// the process, so that a request finds the drain of the server that accepted it.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

/** A drain that can tell whether a request's connection is one of its server's, and hand out its signal. */
export interface SignalSource {
	/** The request's drain signal, or undefined when its connection belongs to another server. */
	signalFor(request: IncomingMessage | Http2ServerRequest): AbortSignal | undefined;
}

/**
 * The drains running in this process. Keyed by `Symbol.for`, so that drainSignal() from one copy of the package
 * (its CommonJS build, say) finds a server drained by another. Made by the first drain(), never on import.
 */
const KEY = Symbol.for('graceful-proc.drainSignalSources');

interface Slot {
	readonly version: 1;
	readonly sources: Set<SignalSource>;
}

function slot(create: boolean): Slot | undefined {
	const registry = globalThis as unknown as Record<symbol, Slot | undefined>;
	let found = registry[KEY];
	if (found === undefined && create) {
		found = { version: 1, sources: new Set() };
		Object.defineProperty(registry, KEY, { value: found, enumerable: false, configurable: false, writable: false });
	}
	return found;
}

export function addSignalSource(source: SignalSource): void {
	slot(true)!.sources.add(source);
}

export function removeSignalSource(source: SignalSource): void {
	slot(false)?.sources.delete(source);
}

/** The registry's drains, once it exists: it is never replaced (see slot), so asking for it once is enough. */
let knownSources: Set<SignalSource> | undefined;

/** The signal of the drain whose server accepted the request's connection, if one does. */
export function signalFromDrains(request: IncomingMessage | Http2ServerRequest): AbortSignal | undefined {
	const sources = (knownSources ??= slot(false)?.sources);
	if (sources === undefined) return undefined;
	for (const source of sources) {
		const signal = source.signalFor(request);
		if (signal !== undefined) return signal;
	}
	return undefined;
}
