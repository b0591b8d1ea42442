import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProc, run } from '../../src/index.js';
import { processWideProc } from '../../src/shared-instance.js';
import { createFakeProcess, type FakeProcess } from '../../src/testing.js';

/**
 * Every public function, given any value for any argument: either it accepts it, or it throws a TypeError or
 * RangeError whose message names the argument and shows the value, and then nothing was registered or changed.
 */

const MESSAGE = /^(Expected `([^`]+)` to be .+, got `.*` \((\w+)\)|Unknown option (?:`([^`]+)`|".*" in `([^`]+)`); known options are .+)$/s;

function expectRefusal(error: unknown, argumentPrefix: string): void {
	expect(error).toBeInstanceOf(Error);
	expect(['TypeError', 'RangeError']).toContain((error as Error).name);
	const match = MESSAGE.exec((error as Error).message);
	expect(match, (error as Error).message).not.toBe(null);
	const argument = match![2] ?? match![4] ?? match![5]!;
	expect(argument.startsWith(argumentPrefix), `${argument} names ${argumentPrefix}`).toBe(true);
}

function snapshot(fake: FakeProcess, proc: ReturnType<typeof createProc>) {
	return {
		listened: fake.listenedEvents(),
		state: proc.state,
		timeToForceQuit: proc.timeToForceQuit,
		timeToWrapUp: proc.timeToWrapUp,
		aborted: proc.signal.aborted,
		warnings: fake.warnings.length,
	};
}

/** Values a user might pass by mistake, and everything else. */
const anyValue = fc.oneof(
	fc.constantFrom(null, undefined, -1, 0, 1, 2 ** 31, Number.NaN, Number.POSITIVE_INFINITY, '', 'SIGTERM', 'nope', true, false, [], {}, () => {}),
	fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true, withDate: true, withNullPrototype: true }),
);
const anyOptions = fc.oneof(
	anyValue,
	fc.dictionary(
		fc.constantFrom('name', 'timeout', 'signals', 'timeToForceQuit', 'timeToWrapUp', 'exit', 'logger', 'handleErrors', 'onReport', 'diagnosticReport', 'pm2', 'proc', 'typo'),
		anyValue,
		{ maxKeys: 3 },
	),
);

function attempt(call: () => unknown): { threw: false } | { threw: true; error: unknown } {
	try {
		call();
		return { threw: false };
	} catch (error) {
		return { threw: true, error };
	}
}

describe('every public function refuses bad input by name and changes nothing', () => {
	it('addWrapUpListener and addShutdownListener', () => {
		fc.assert(
			fc.property(fc.constantFrom('addWrapUpListener', 'addShutdownListener' as const), anyValue, anyOptions, (method, fn, options) => {
				const fake = createFakeProcess();
				const proc = createProc({ process: fake, logger: false });
				const before = snapshot(fake, proc);
				const result = attempt(() => proc[method](fn as never, options as never));
				if (result.threw) {
					expectRefusal(result.error, typeof fn === 'function' ? 'options' : 'fn');
					expect(snapshot(fake, proc)).toEqual(before);
				}
			}),
		);
	});

	it('setTimeToForceQuit and setTimeToWrapUp', () => {
		fc.assert(
			fc.property(fc.constantFrom('setTimeToForceQuit', 'setTimeToWrapUp' as const), anyValue, (method, ms) => {
				const fake = createFakeProcess();
				const proc = createProc({ process: fake, logger: false });
				const before = snapshot(fake, proc);
				const result = attempt(() => proc[method](ms as never));
				if (result.threw) {
					expectRefusal(result.error, 'ms');
					expect(snapshot(fake, proc)).toEqual(before);
				} else {
					expect(typeof ms === 'number' && ms >= 0 && ms <= 2 ** 31 - 1).toBe(true);
				}
			}),
		);
	});

	it('createProc and configure', () => {
		fc.assert(
			fc.property(anyOptions, (options) => {
				const fake = createFakeProcess();
				const made = attempt(() => createProc({ process: fake, ...(options as object) }));
				if (made.threw) {
					if (options === null || typeof options !== 'object' || Array.isArray(options)) {
						// Spread of a non-object gives {} or its indices: only named options reach validation.
					}
					expectRefusal(made.error, 'options');
					expect(fake.listenedEvents()).toEqual([]);
				}
				const proc = createProc({ process: fake, logger: false });
				proc.addWrapUpListener(() => {});
				const before = snapshot(fake, proc);
				const configured = attempt(() => proc.configure(options as never));
				if (configured.threw) {
					expectRefusal(configured.error, 'options');
					expect(snapshot(fake, proc)).toEqual(before);
				}
			}),
		);
	});

	it('run', () => {
		const processWide = { state: processWideProc().state, sigterm: process.listenerCount('SIGTERM') };
		fc.assert(
			fc.property(anyValue, anyOptions, (main, options) => {
				const fake = createFakeProcess();
				const proc = createProc({ process: fake, logger: false, exit: false });
				const before = snapshot(fake, proc);
				// Options left out are good input, and mean the process-wide proc: in this worker that is the real
				// process, whose sequence would end by calling process.exit(). Every run() here gets the isolated proc.
				const opts =
					options === undefined ? { proc } : options !== null && typeof options === 'object' && !Array.isArray(options) ? { ...options, proc } : options;
				const result = attempt(() => run(main as never, opts as never));
				if (result.threw) {
					expectRefusal(result.error, typeof main === 'function' ? 'options' : 'main');
					expect(snapshot(fake, proc)).toEqual(before);
				} else {
					void proc.shutdown();
				}
			}),
			{ examples: [[() => {}, undefined]] },
		);
		expect({ state: processWideProc().state, sigterm: process.listenerCount('SIGTERM') }).toEqual(processWide);
	});

	it('createFakeProcess', () => {
		fc.assert(
			fc.property(
				fc.oneof(anyValue, fc.dictionary(fc.constantFrom('pid', 'platform', 'ipc', 'activeResources', 'typo'), anyValue, { maxKeys: 2 })),
				(options) => {
					const result = attempt(() => createFakeProcess(options as never));
					if (result.threw) expectRefusal(result.error, 'options');
				},
			),
		);
	});
});

describe('configure() needs something to change', () => {
	it('refuses to be called with nothing, by name, instead of failing inside', () => {
		const proc = createProc({ process: createFakeProcess(), logger: false });
		expect(() => proc.configure(undefined as never)).toThrow(new TypeError('Expected `options` to be an object of options to change, got `undefined` (undefined)'));
	});
});

describe('an unknown option whose key is not a plain name', () => {
	it('is shown quoted, so the message stays readable (found by the fuzz above)', () => {
		expect(() => createFakeProcess({ '`': 1 } as never)).toThrow(
			new TypeError('Unknown option "`" in `options`; known options are `pid`, `platform`, `ipc`, `activeResources`'),
		);
	});
});
