// An observer of the sequence (systemd's STATUS lines) hears every settlement, though the sequence itself is
// told only when a settlement may move it on.
import { describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { OBSERVE_SEQUENCE, type ObservableProc, type SequenceView } from '../../src/sequence-observer.js';
import { createFakeProcess } from '../../src/testing.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function setup() {
	return createProc({ process: createFakeProcess(), exit: false, logger: false });
}

describe('an observer of the sequence', () => {
	it('is told at every settlement, not only when a phase ends', async () => {
		const proc = setup();
		const settledSeen: number[] = [];
		(proc as ObservableProc)[OBSERVE_SEQUENCE]!({
			changed(view: () => SequenceView | undefined) {
				const listeners = [...(view()?.listeners ?? [])];
				settledSeen.push(listeners.filter((l) => l.status === 'ok').length);
			},
		});
		for (const ms of [5, 15, 25]) proc.addWrapUpListener(() => sleep(ms), { name: `wrap-up ${ms}` });
		proc.addShutdownListener(() => sleep(5), { name: 'db' });
		await proc.shutdown('SIGTERM');
		// Each count of settled listeners, 0 to 4, was seen at some notification: one per settlement.
		for (let settled = 1; settled <= 4; settled++) expect(settledSeen).toContain(settled);
	});
});
