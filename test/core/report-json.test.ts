import { describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';

function setup() {
	const fake = createFakeProcess();
	return { fake, proc: createProc({ process: fake, exit: false, logger: false }) };
}

describe('the report serializes with every error readable', () => {
	it('JSON.stringify(report) keeps each error name, message, stack and cause, recursively', async () => {
		const { proc } = setup();
		const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
		const error = new TypeError('pool failed to close', { cause: root });
		proc.addShutdownListener(() => Promise.reject(error), { name: 'db' });
		const report = await proc.shutdown(new RangeError('config invalid'));
		const json = JSON.parse(JSON.stringify(report));
		expect(json.listeners[0].error).toEqual({
			name: 'TypeError',
			message: 'pool failed to close',
			stack: error.stack,
			cause: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:5432', stack: root.stack, code: 'ECONNREFUSED' },
		});
		expect(json.reason).toMatchObject({ name: 'RangeError', message: 'config invalid', stack: expect.stringContaining('RangeError: config invalid') });
		// The value itself is still the raw error.
		expect(report.listeners[0]!.error).toBe(error);
		expect(Object.keys(report.listeners[0]!)).toEqual(['name', 'phase', 'outcome', 'durationMs', 'error']);
	});

	it('a listener row stringified on its own keeps its error too', async () => {
		const { proc } = setup();
		proc.addShutdownListener(() => {
			throw new Error('flush failed');
		}, { name: 'logger' });
		const report = await proc.shutdown();
		const row = JSON.parse(JSON.stringify(report.listeners[0]));
		expect(row).toMatchObject({ name: 'logger', outcome: 'error', error: { name: 'Error', message: 'flush failed', stack: expect.stringContaining('flush failed') } });
	});

	it('a cycle of causes, an AggregateError and values JSON cannot hold end in text, never in a throw', async () => {
		const { proc } = setup();
		const a: Error & { cause?: unknown } = new Error('a');
		const b = new Error('b', { cause: a });
		a.cause = b;
		proc.addShutdownListener(() => Promise.reject(a), { name: 'cycle' });
		proc.addShutdownListener(() => Promise.reject(new AggregateError([new Error('one'), 2n], 'many')), { name: 'aggregate' });
		proc.addShutdownListener(() => Promise.reject(10n), { name: 'bigint' });
		const hostile = new Proxy(new Error('x'), { get: () => { throw new Error('trap'); } });
		proc.addShutdownListener(() => Promise.reject(hostile), { name: 'hostile' });
		const report = await proc.shutdown();
		const json = JSON.parse(JSON.stringify(report));
		let depth = 0;
		for (let cause = json.listeners[0].error; typeof cause === 'object'; cause = cause.cause) depth++;
		expect(depth).toBeGreaterThan(2);
		expect(depth).toBeLessThan(10);
		expect(json.listeners[1].error.errors).toEqual([expect.objectContaining({ message: 'one' }), '2']);
		expect(json.listeners[2].error).toBe('10');
		expect(typeof json.listeners[3].error).not.toBe('undefined');
	});
});

describe('the report lists the listeners in the order the sequence ran them', () => {
	it('wrap-up before shutdown, then by start, whatever the registration order', async () => {
		const { proc } = setup();
		const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
		proc.addShutdownListener(() => {}, { name: 'db' });
		proc.addWrapUpListener(async () => {
			await sleep(20);
			// Added while wrapping up: called at once, so it started after `http` and `queue`.
			proc.addWrapUpListener(() => {}, { name: 'late' });
		}, { name: 'http' });
		proc.addShutdownListener(() => {}, { name: 'logger' });
		proc.addWrapUpListener(() => {}, { name: 'queue' });
		const report = await proc.shutdown();
		expect(report.listeners.map((l) => `${l.phase}:${l.name}`)).toEqual(['wrap-up:http', 'wrap-up:queue', 'wrap-up:late', 'shutdown:db', 'shutdown:logger']);
	});
});

describe("a settled report's rows, made when first read", () => {
	async function settled() {
		const { proc } = setup();
		proc.addWrapUpListener(async () => {}, { name: 'http' });
		proc.addShutdownListener(async () => {}, { name: 'db' });
		const report = await proc.shutdown('SIGTERM');
		return { proc, report };
	}

	it('are the rows as the end left them: a listener added after the end is not among them', async () => {
		const { proc, report } = await settled();
		proc.addShutdownListener(async () => {}, { name: 'added after the end' });
		expect(report.listeners.map((row) => row.name)).toEqual(['http', 'db']);
		// Read again, the same array: made once.
		expect(report.listeners).toBe(report.listeners);
		expect(Object.keys(report)).toEqual(['reason', 'outcome', 'exitCode', 'durationMs', 'listeners']);
	});

	it('show as rows, never as a getter, in console.log, JSON, a spread and a structured clone', async () => {
		const { report } = await settled();
		const { inspect } = await import('node:util');
		const shown = inspect(report, { depth: 4 });
		expect(shown).not.toMatch(/Getter|Setter/);
		expect(shown).toMatch(/name: 'http'/);
		expect(JSON.parse(JSON.stringify(report)).listeners).toHaveLength(2);
		expect({ ...report }.listeners).toHaveLength(2);
		expect(structuredClone(report).listeners.map((row: { name: string }) => row.name)).toEqual(['http', 'db']);
		expect(Object.getOwnPropertyDescriptor(report, 'listeners')).toMatchObject({ writable: true, enumerable: true });
	});

	it('can be replaced before they are read, as a plain field', async () => {
		const { report } = await settled();
		report.listeners = [];
		expect(report.listeners).toEqual([]);
	});
});
