import { describe, expect, it } from 'vitest';
import { createProc, run } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';

function fresh() {
	const fake = createFakeProcess();
	return { fake, proc: createProc({ process: fake, exit: false, logger: false }) };
}

describe('bad input is rejected at the call, names the argument and the value, and changes nothing', () => {
	const badListeners: Array<[unknown, RegExp]> = [
		[undefined, /^Expected `fn` to be a function, got `undefined` \(undefined\)$/],
		['cleanup', /^Expected `fn` to be a function, got `"cleanup"` \(string\)$/],
		[{}, /^Expected `fn` to be a function, got `\[Object\]` \(object\)$/],
	];
	it.each(badListeners)('addWrapUpListener(%o) throws a TypeError', (value, message) => {
		const { fake, proc } = fresh();
		expect(() => proc.addWrapUpListener(value as never)).toThrow(TypeError);
		expect(() => proc.addShutdownListener(value as never)).toThrow(message);
		expect(fake.listenedEvents()).toEqual([]);
	});

	const badTimes: Array<[unknown, ErrorConstructor, string]> = [
		[-1, RangeError, 'Expected `ms` to be a finite number >= 0, got `-1` (number)'],
		[Number.NaN, RangeError, 'Expected `ms` to be a finite number >= 0, got `NaN` (number)'],
		[Number.POSITIVE_INFINITY, RangeError, 'Expected `ms` to be a finite number >= 0, got `Infinity` (number)'],
		['1000', TypeError, 'Expected `ms` to be a finite number >= 0, got `"1000"` (string)'],
		[null, TypeError, 'Expected `ms` to be a finite number >= 0, got `null` (null)'],
	];
	it.each(badTimes)('setTimeToForceQuit(%o) and setTimeToWrapUp throw and keep the old value', async (value, type, message) => {
		const { proc } = fresh();
		proc.setTimeToForceQuit(1234);
		expect(() => proc.setTimeToForceQuit(value as never)).toThrow(type);
		expect(() => proc.setTimeToWrapUp(value as never)).toThrow(message);
		// The deadline is the trigger plus the kept 1234 ms, read against clocks taken around the trigger (not
		// against a later Date.now(), which a loaded machine may take tens of ms to reach).
		const before = Date.now();
		void proc.shutdown();
		const after = Date.now();
		expect(proc.deadline!).toBeGreaterThanOrEqual(before + 1234);
		expect(proc.deadline!).toBeLessThanOrEqual(after + 1234);
	});

	it('rejects bad listener options and registers nothing', () => {
		const { fake, proc } = fresh();
		expect(() => proc.addWrapUpListener(() => {}, { timeout: -5 })).toThrow('Expected `options.timeout` to be a finite number >= 0, got `-5` (number)');
		expect(() => proc.addWrapUpListener(() => {}, { name: '' })).toThrow(RangeError);
		expect(() => proc.addWrapUpListener(() => {}, { name: 7 as never })).toThrow('Expected `options.name` to be a non-empty string, got `7` (number)');
		expect(() => proc.addWrapUpListener(() => {}, { nmae: 'x' } as never)).toThrow(/Unknown option `options.nmae`/);
		expect(() => proc.addWrapUpListener(() => {}, 'http' as never)).toThrow('Expected `options` to be an object, got `"http"` (string)');
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('rejects bad createProc options', () => {
		const fake = createFakeProcess();
		expect(() => createProc({ process: {} as never })).toThrow(/Expected `options.process` to be a process-like object/);
		expect(() => createProc({ process: fake, signals: ['SIGTERN'] })).toThrow('Expected `options.signals[0]` to be a signal name that can be caught, such as `SIGTERM`, got `"SIGTERN"` (string)');
		expect(() => createProc({ process: fake, signals: ['SIGKILL'] })).toThrow(RangeError);
		expect(() => createProc({ process: fake, signals: 'SIGTERM' as never })).toThrow(TypeError);
		expect(() => createProc({ process: fake, timeToForceQuit: -1 })).toThrow('Expected `options.timeToForceQuit` to be a finite number >= 0, got `-1` (number)');
		expect(() => createProc({ process: fake, timeToWrapUp: Number.NaN })).toThrow(RangeError);
		expect(() => createProc({ process: fake, exit: 'no' as never })).toThrow('Expected `options.exit` to be a boolean, got `"no"` (string)');
		expect(() => createProc({ process: fake, logger: console.log as never })).toThrow(/`options.logger`/);
		expect(() => createProc({ process: fake, onReport: 1 as never })).toThrow('Expected `options.onReport` to be a function, got `1` (number)');
		expect(() => createProc({ process: fake, diagnosticReport: 'SIGFOO' })).toThrow(RangeError);
		expect(() => createProc({ process: fake, timeout: 5 } as never)).toThrow(/Unknown option `options.timeout`/);
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('configure() with one bad option changes none of the others', () => {
		const { fake, proc } = fresh();
		proc.addWrapUpListener(() => {});
		expect(() => proc.configure({ signals: ['SIGHUP'], timeToForceQuit: -1 })).toThrow(RangeError);
		expect(fake.listenedEvents().sort()).toEqual(['SIGINT', 'SIGTERM']);
	});

	it('run() rejects a main that is not a function', () => {
		expect(() => run('main' as never)).toThrow('Expected `main` to be a function, got `"main"` (string)');
		expect(() => run(() => {}, { proc: 5 as never })).toThrow(/`options.proc`/);
	});
});
