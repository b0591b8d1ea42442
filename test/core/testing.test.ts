import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProc } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';

afterEach(() => {
	vi.useRealTimers();
});

describe('createFakeProcess() lets a test simulate SIGTERM in-process', () => {
	it('reads like a user test: kill, then await exited', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake });
		const closed: string[] = [];
		proc.addWrapUpListener(async () => void closed.push('server'));
		fake.kill('SIGTERM');
		expect(await fake.exited).toBe(0);
		expect(closed).toEqual(['server']);
	});

	it('works under vitest fake timers', async () => {
		vi.useFakeTimers();
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, timeToForceQuit: 10_000, logger: false });
		proc.addWrapUpListener(() => new Promise((resolve) => setTimeout(resolve, 3000)));
		fake.kill('SIGTERM');
		await vi.advanceTimersByTimeAsync(2999);
		expect(fake.exitCode).toBeUndefined();
		await vi.advanceTimersByTimeAsync(1);
		expect(await fake.exited).toBe(0);
	});

	it('accepts kill(pid, signal) like process.kill, and refuses another pid', () => {
		const fake = createFakeProcess({ pid: 99 });
		const got: string[] = [];
		fake.on('SIGHUP', (name: string) => got.push(name));
		fake.kill(99, 'SIGHUP');
		expect(got).toEqual(['SIGHUP']);
		expect(() => fake.kill(100, 'SIGHUP')).toThrow(/ESRCH/);
		expect(() => fake.kill('SIGNOPE')).toThrow(TypeError);
	});

	it('dies of a signal nobody handles, with 128 + its number, as Node would', async () => {
		const fake = createFakeProcess();
		fake.kill('SIGINT');
		expect(await fake.exited).toBe(130);
		expect(fake.signalCode).toBe('SIGINT');
	});

	it('records only the first exit', async () => {
		const fake = createFakeProcess();
		fake.exit(3);
		fake.exit(0);
		expect(await fake.exited).toBe(3);
		expect(fake.exitCode).toBe(3);
	});

	it('has no IPC channel unless asked, and delivers messages when it has one', () => {
		expect(() => createFakeProcess().message('shutdown')).toThrow(/no IPC channel/);
		const fake = createFakeProcess({ ipc: true });
		const got: unknown[] = [];
		fake.on('message', (m) => got.push(m));
		fake.message({ hello: 1 });
		expect(got).toEqual([{ hello: 1 }]);
	});

	it('rejects unknown options', () => {
		expect(() => createFakeProcess({ ipcc: true } as never)).toThrow(/Unknown option `options.ipcc`/);
	});
});
