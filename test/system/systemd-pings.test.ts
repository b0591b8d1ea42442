// The watchdog pings in-process, with the senders replaced: at half of WATCHDOG_USEC, only while live, never a
// second one while the first is still on its way (on a loaded machine systemd-notify can take longer than the
// interval), and never in front of STOPPING=1, which a ping still on its way does not hold back. The real messages
// are in systemd-notify.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';

const sent: Array<{ fields: Record<string, unknown>; done: () => void }> = [];
vi.mock('../../src/systemd/notify.js', async (importOriginal) => {
	const send = (fields: Record<string, unknown>) => new Promise<void>((resolve) => sent.push({ fields, done: resolve }));
	// As notify.ts does: ordered messages one after the other, unordered ones at once.
	let queue = Promise.resolve();
	const sdNotify = (fields: Record<string, unknown>) => (queue = queue.then(() => send(fields)));
	return { ...(await importOriginal<typeof import('../../src/systemd/notify.js')>()), sdNotify, sdNotifyUnordered: send };
});

const { createProc } = await import('../../src/index.js');
const { notifyReady, setSystemdLiveness } = await import('../../src/systemd/service.js');
const { createFakeProcess } = await import('../../src/testing.js');

afterEach(() => {
	vi.useRealTimers();
	vi.unstubAllEnvs();
	setSystemdLiveness(undefined);
	sent.length = 0;
});

describe('the watchdog pings', () => {
	it('go out at half of WATCHDOG_USEC while live, one at a time, never in front of STOPPING=1, and stop at the trigger', async () => {
		vi.useFakeTimers();
		vi.stubEnv('NOTIFY_SOCKET', '/run/test-notify.sock');
		vi.stubEnv('WATCHDOG_USEC', '1000000');
		vi.stubEnv('WATCHDOG_PID', String(process.pid));
		let live = true;
		setSystemdLiveness(() => live);
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, logger: false });
		proc.addShutdownListener(() => undefined, { name: 'db' });
		void notifyReady(proc, 'ready');
		await vi.advanceTimersByTimeAsync(0);
		expect(sent.map((s) => s.fields)).toEqual([{ READY: 1, STATUS: 'ready' }]);
		sent[0]!.done();
		const pings = () => sent.filter((s) => s.fields.WATCHDOG === 1);

		await vi.advanceTimersByTimeAsync(500);
		expect(pings()).toHaveLength(1);
		// The first is still on its way: three more intervals add none.
		await vi.advanceTimersByTimeAsync(1500);
		expect(pings()).toHaveLength(1);
		pings()[0]!.done();
		await vi.advanceTimersByTimeAsync(500);
		expect(pings()).toHaveLength(2);
		pings()[1]!.done();

		live = false;
		await vi.advanceTimersByTimeAsync(1500);
		expect(pings()).toHaveLength(2);
		live = true;
		await vi.advanceTimersByTimeAsync(500);
		expect(pings()).toHaveLength(3);
		pings()[2]!.done();

		// A ping on its way when the sequence starts: STOPPING=1 goes out anyway, and no ping after it.
		await vi.advanceTimersByTimeAsync(500);
		expect(pings()).toHaveLength(4);
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(0);
		expect(sent.at(-1)!.fields).toMatchObject({ STOPPING: 1 });
		await vi.advanceTimersByTimeAsync(2000);
		expect(pings()).toHaveLength(4);
	});
});
