import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createProc, type ProcOptions } from '../../src/index.js';
import { formatTerminationMessage } from '../../src/termination-log.js';
import { createFakeProcess } from '../../src/testing.js';

const dir = mkdtempSync(join(tmpdir(), 'graceful-proc-termination-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tempFile = () => join(dir, `termination-${++files}.log`);

function setup(options: Omit<ProcOptions, 'process'>) {
	const fake = createFakeProcess();
	return { fake, proc: createProc({ process: fake, logger: false, ...options }) };
}

describe('configure({ terminationLog }) writes a termination message when the sequence ends', () => {
	it('writes outcome, exit code, reason, duration and the failed listeners by name, before the process exits', async () => {
		const file = tempFile();
		const fake = createFakeProcess();
		let atExit: string | undefined;
		fake.on('exit', () => {
			atExit = readFileSync(file, 'utf8');
		});
		const proc = createProc({ process: fake, logger: false });
		proc.configure({ terminationLog: file });
		proc.addWrapUpListener(() => {}, { name: 'http' });
		proc.addShutdownListener(() => Promise.reject(new Error('pool already closed')), { name: 'db' });
		fake.kill('SIGTERM');
		expect(await fake.exited).toBe(1);
		expect(atExit).toMatch(/^graceful-proc: shutdown failed in \d+ ms \(reason: SIGTERM\), exit code 1\nerror\s+db \(shutdown, \d+ ms\): Error: pool already closed\n$/);
	});

	it('writes a clean end too, replacing what the file held', async () => {
		const file = tempFile();
		writeFileSync(file, 'x'.repeat(10_000));
		const { fake, proc } = setup({ terminationLog: file });
		proc.addShutdownListener(() => {});
		await proc.shutdown('deploy');
		await fake.exited;
		expect(readFileSync(file, 'utf8')).toMatch(/^graceful-proc: shutdown clean in \d+ ms \(reason: deploy\), exit code 0\n$/);
	});

	it('names pending and skipped listeners and what forced the end', async () => {
		vi.useFakeTimers();
		try {
			const file = tempFile();
			const { fake, proc } = setup({ terminationLog: file, timeToForceQuit: 200 });
			proc.addWrapUpListener(() => new Promise(() => {}), { name: 'queue' });
			proc.addShutdownListener(() => {}, { name: 'db' });
			void proc.shutdown('SIGTERM');
			await vi.advanceTimersByTimeAsync(200);
			expect(await fake.exited).toBe(1);
			expect(readFileSync(file, 'utf8')).toBe(
				'graceful-proc: shutdown forced after 200 ms (reason: SIGTERM), exit code 1, forcedBy: deadline\npending queue (wrap-up, 200 ms)\nskipped db (shutdown, 0 ms)\n',
			);
		} finally {
			vi.useRealTimers();
		}
	});

	it('stays within 4096 bytes however many listeners failed, and counts the rest', async () => {
		const file = tempFile();
		const { fake, proc } = setup({ terminationLog: file });
		for (let i = 0; i < 100_000; i++) proc.addShutdownListener(() => Promise.reject(new Error('ü'.repeat(100))), { name: `worker-${i}` });
		await proc.shutdown('SIGTERM');
		await fake.exited;
		const bytes = readFileSync(file);
		expect(bytes.length).toBeLessThanOrEqual(4096);
		expect(bytes.length).toBeGreaterThan(3500);
		const text = bytes.toString('utf8');
		expect(text).not.toContain('\uFFFD');
		expect(text).toMatch(/^graceful-proc: shutdown failed/);
		expect(text).toMatch(/\n… and \d+ more: \d+ error\n$/);
		const shown = text.split('\n').filter((line) => line.startsWith('error')).length;
		expect(text).toContain(`… and ${100_000 - shown} more: ${100_000 - shown} error`);
	});

	it('cuts a huge reason and a huge listener error to fit', () => {
		const report = {
			reason: 'r'.repeat(100_000),
			outcome: 'failed' as const,
			exitCode: 1,
			durationMs: 5,
			listeners: [{ name: 'n'.repeat(100_000), phase: 'shutdown' as const, outcome: 'error' as const, durationMs: 1, error: new Error('e'.repeat(100_000)) }],
		};
		expect(Buffer.byteLength(formatTerminationMessage(report))).toBeLessThanOrEqual(4096);
	});

	it('never throws when the file cannot be written: a missing directory, a directory, a read-only file', async () => {
		const readOnly = tempFile();
		writeFileSync(readOnly, 'before');
		chmodSync(readOnly, 0o444);
		for (const path of [join(dir, 'missing', 'dir', 'log'), dir, readOnly]) {
			const { fake, proc } = setup({ terminationLog: path });
			proc.addShutdownListener(() => {});
			expect((await proc.shutdown()).outcome).toBe('clean');
			expect(await fake.exited).toBe(0);
		}
		// root may write anyway; everyone else must find it untouched.
		if (process.getuid?.() !== 0) expect(readFileSync(readOnly, 'utf8')).toBe('before');
	});

	it('creates a file the user named, but never /dev/termination-log itself', async () => {
		const file = tempFile();
		const { proc } = setup({ terminationLog: file, exit: false });
		proc.addShutdownListener(() => {});
		await proc.shutdown();
		expect(existsSync(file)).toBe(true);
		if (!existsSync('/dev/termination-log')) {
			const other = setup({ terminationLog: true, exit: false });
			other.proc.addShutdownListener(() => {});
			await other.proc.shutdown();
			expect(existsSync('/dev/termination-log')).toBe(false);
		}
	});

	it('writes nothing unless asked, and stops when set back to false', async () => {
		const file = tempFile();
		const { proc } = setup({ terminationLog: file, exit: false });
		proc.configure({ terminationLog: false });
		proc.addShutdownListener(() => {});
		await proc.shutdown();
		expect(existsSync(file)).toBe(false);
	});

	it.each([
		[null, TypeError, /Expected `options.terminationLog` to be a boolean or a file path, got `null` \(null\)/],
		[42, TypeError, /got `42` \(number\)/],
		[{ path: 'x' }, TypeError, /got `\[Object\]` \(object\)/],
		['', RangeError, /got `""` \(string\)/],
	])('refuses %o with an error naming it, and changes nothing', (value, type, message) => {
		const file = tempFile();
		const { proc } = setup({ terminationLog: file });
		expect(() => proc.configure({ terminationLog: value as never })).toThrow(type);
		expect(() => proc.configure({ terminationLog: value as never })).toThrow(message);
		expect(() => createProc({ process: createFakeProcess(), terminationLog: value as never })).toThrow(type);
	});

	it('keeps the file it had after refusing a bad value', async () => {
		const file = tempFile();
		const { proc } = setup({ terminationLog: file, exit: false });
		expect(() => proc.configure({ terminationLog: 1 as never, timeToForceQuit: 100 })).toThrow(TypeError);
		expect(proc.timeToForceQuit).toBe(5500);
		proc.addShutdownListener(() => {});
		await proc.shutdown('still');
		expect(readFileSync(file, 'utf8')).toMatch(/reason: still/);
	});
});

describe('the termination message, for any report', () => {
	const listenerArb = fc.record({
		name: fc.string({ unit: 'grapheme', maxLength: 300 }),
		phase: fc.constantFrom('wrap-up' as const, 'shutdown' as const),
		outcome: fc.constantFrom('ok' as const, 'error' as const, 'timeout' as const, 'pending' as const, 'skipped' as const),
		durationMs: fc.nat(),
		error: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 2000 }).map((m) => new Error(m)), fc.anything({ withNullPrototype: true, withBigInt: true })),
	});

	it('is at most 4096 bytes of whole UTF-8 characters, starts with the head line and accounts for every listener that did not end well', () => {
		fc.assert(
			fc.property(
				fc.array(listenerArb, { maxLength: 400 }),
				fc.anything({ withNullPrototype: true, withBigInt: true }),
				fc.constantFrom('clean' as const, 'failed' as const, 'forced' as const),
				(listeners, reason, outcome) => {
					const report = { reason, outcome, exitCode: outcome === 'clean' ? 0 : 1, durationMs: 1, listeners, ...(outcome === 'forced' ? { forcedBy: 'deadline' as const } : {}) };
					const text = formatTerminationMessage(report);
					const bytes = Buffer.from(text, 'utf8');
					// The round trip fails on a character cut in half (a lone surrogate); U+FFFD itself is a character a
					// listener's name may hold, so its presence proves nothing.
					if (bytes.length > 4096 || bytes.toString('utf8') !== text) return false;
					if (!text.startsWith(`graceful-proc: shutdown ${outcome}`)) return false;
					const notOk = listeners.filter((l) => l.outcome !== 'ok').length;
					const lines = text.split('\n').filter(Boolean);
					const shown = lines.length - 1 - (/^… and \d+ more/.test(lines.at(-1) ?? '') ? 1 : 0);
					const more = Number(/^… and (\d+) more/.exec(lines.at(-1) ?? '')?.[1] ?? 0);
					return shown + more === notOk;
				},
			),
			{ numRuns: 200 },
		);
	});
});
