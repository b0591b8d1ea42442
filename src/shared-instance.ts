/**
 * The process-wide proc: made on first use (installing nothing), and shared through a registered symbol by every
 * copy and build of the package loaded in the process.
 */
import { ProcessWideProc } from './process-wide-proc.js';
import type { Proc } from './types.js';

/**
 * One proc per process, whichever copy or version of graceful-proc gets there first: every copy looks it up
 * under the same registered symbol, so two copies never run two sequences or install two sets of handlers.
 * The ESM and the CommonJS build of one install are two copies in this sense (an app that imports the package
 * while a dependency requires it loads both), and share it the same way.
 */
const KEY = Symbol.for('graceful-proc.process-wide');

interface Slot {
	readonly version: 1;
	readonly proc: Proc;
}

export function processWideProc(): Proc {
	const registry = globalThis as unknown as Record<symbol, Slot | undefined>;
	let slot = registry[KEY];
	if (slot === undefined) {
		// Creating it installs nothing: handlers come with the first listener. Older copies made a ProcImpl here, and
		// still find a Proc: the testing kit is what needs the ProcessWideProc.
		slot = { version: 1, proc: new ProcessWideProc() };
		Object.defineProperty(registry, KEY, { value: slot, enumerable: false, configurable: false, writable: false });
	}
	return slot.proc;
}
