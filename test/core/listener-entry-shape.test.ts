// A listener entry keeps the hidden class it was registered with through a whole sequence: a field whose
// representation changed when a listener settled made V8 rewrite every registered entry at the signal (1000
// listeners: about 1.5 ms). Alone in its file: the first sequence of this module graph is the one that would.
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { entryOfWait } from '../../src/listener-entry.js';
import { createFakeProcess } from '../../src/testing.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function setup() {
	return createProc({ process: createFakeProcess(), exit: false, logger: false });
}

describe("a listener entry's hidden class", () => {
	it('is the same for an entry registered before a shutdown ran and one made after it: nothing is rewritten at the signal', async () => {
		setFlagsFromString('--allow-natives-syntax');
		const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
		const before = entryOfWait(setup().addShutdownListener(async () => {}, { name: 'registered early' }))!;
		// A whole sequence elsewhere in the process, as the warm-up runs one: listeners called, timed and settled,
		// one that fails, one that times out.
		const other = setup();
		other.addWrapUpListener(() => sleep(2), { name: 'slow' });
		other.addWrapUpListener(() => Promise.reject(new Error('no')), { name: 'fails' });
		other.addShutdownListener(() => new Promise(() => {}), { name: 'hangs', timeout: 5 });
		const report = await other.shutdown('SIGTERM');
		expect(report.listeners.map((row) => row.outcome)).toEqual(['ok', 'error', 'timeout']);
		const after = entryOfWait(setup().addShutdownListener(async () => {}, { name: 'registered late' }))!;
		expect(haveSameMap(before, after)).toBe(true);
	});
});
