// A jest test file as a CommonJS project writes it, run by jest with its defaults (its own module system,
// which cannot require ES modules) against the installed package: by .ci/run on the packed tarball, and by
// test/system/jest-testing-kit.test.ts on this checkout's build.
const proc = require('graceful-proc');
const { createProc } = require('graceful-proc');
const { createFakeProcess } = require('graceful-proc/testing');

afterEach(() => {
	jest.useRealTimers();
});

test('require() loads every entry point', () => {
	expect(typeof proc.addWrapUpListener).toBe('function');
	expect(proc.proc.state).toBe('running');
	expect(typeof require('graceful-proc/http').drain).toBe('function');
	expect(typeof require('graceful-proc/http').serve).toBe('function');
	expect(typeof require('graceful-proc/health').createHealthTicker).toBe('function');
	expect(typeof require('graceful-proc/supervise').supervise).toBe('function');
});

// An app module that registers on the process-wide proc when a test requires it: the handlers come and go with
// the listener, and nothing is left open for jest to wait on.
test('the process-wide proc: a listener installs the signal handlers, removing it takes them away', () => {
	const before = process.listenerCount('SIGTERM');
	const wait = proc.addWrapUpListener(() => {}, { name: 'app' });
	expect(proc.proc.state).toBe('running');
	expect(process.listenerCount('SIGTERM')).toBe(before + 1);
	expect(wait.remove()).toBe(true);
	expect(process.listenerCount('SIGTERM')).toBe(before);
});

test('SIGTERM to a fake process runs the listeners in order and exits 0, under jest fake timers', async () => {
	jest.useFakeTimers();
	const fake = createFakeProcess();
	const reports = [];
	const p = createProc({ process: fake, logger: false, onReport: (report) => reports.push(report) });
	const ran = [];
	p.addWrapUpListener(
		async () => {
			await new Promise((resolve) => setTimeout(resolve, 800));
			ran.push('http');
		},
		{ name: 'http' },
	);
	p.addShutdownListener(() => void ran.push('db'), { name: 'db' });

	fake.kill('SIGTERM');
	expect(p.state).toBe('wrapping-up');
	await jest.advanceTimersByTimeAsync(799);
	expect(ran).toEqual([]);
	await jest.advanceTimersByTimeAsync(1);
	expect(await fake.exited).toBe(0);
	expect(fake.exitCode).toBe(0);
	expect(ran).toEqual(['http', 'db']);
	expect(reports[0]).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });
});

test('the force-quit deadline passes on fake time: exit 1, the pending listener named', async () => {
	jest.useFakeTimers();
	const fake = createFakeProcess();
	const reports = [];
	const p = createProc({ process: fake, logger: false, timeToForceQuit: 3000, onReport: (report) => reports.push(report) });
	p.addShutdownListener(() => new Promise(() => {}), { name: 'stuck' });

	fake.kill('SIGTERM');
	await jest.advanceTimersByTimeAsync(2999);
	expect(fake.exitCode).toBeUndefined();
	await jest.advanceTimersByTimeAsync(1);
	expect(await fake.exited).toBe(1);
	expect(reports[0]).toMatchObject({ outcome: 'forced', exitCode: 1, listeners: [{ name: 'stuck', outcome: 'pending' }] });
});
