import { describe, expect, expectTypeOf, it } from 'vitest';
import { createProc } from '../../src/index.js';
import {
	exitWithParent,
	type ReadyOption,
	type SupervisedProcess,
	type SuperviseOptions,
	SuperviseError,
	type SuperviseState,
	supervise,
} from '../../src/supervise/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { spawnedProcessHandles } from '../helpers/supervise.js';

function setup() {
	const fake = createFakeProcess();
	const proc = createProc({ process: fake, exit: false, logger: false });
	return { fake, proc };
}

const node = process.execPath;
type Proc = ReturnType<typeof createProc>;
// Each case gets the test's proc, so that a listener registered by mistake would show on its fake process.
const cases: Array<[string, (proc: Proc) => unknown, typeof TypeError | typeof RangeError, string | RegExp]> = [
	['an empty command', (proc) => supervise('', [], { proc }), RangeError, 'Expected `command` to be a non-empty string, got `""` (string)'],
	['a command that is not a string', (proc) => supervise(42 as never, [], { proc }), TypeError, 'Expected `command` to be a non-empty string, got `42` (number)'],
	['args that are not an array', (proc) => supervise(node, 'server.js' as never, { proc }), TypeError, 'Expected `args` to be an array of strings, got `"server.js"` (string)'],
	['options passed where args go', (proc) => supervise(node, { name: 'x' } as never, { proc }), TypeError, 'Expected `args` to be an array of strings, got `[Object]` (object)'],
	['an argument that is not a string', (proc) => supervise(node, ['a', 1 as never], { proc }), TypeError, 'Expected `args[1]` to be a string, got `1` (number)'],
	['an argument with a null byte', (proc) => supervise(node, ['a\u0000b'], { proc }), RangeError, /^Expected `args\[0\]` to be a string without null bytes/],
	['an unknown option', (proc) => supervise(node, [], { proc, restarts: 3 } as never), TypeError, /^Unknown option `options.restarts`/],
	['an unknown restart policy', (proc) => supervise(node, [], { proc, restart: 'unless-stopped' as never }), RangeError, "Expected `options.restart` to be one of 'on-failure', 'always', 'never', got `\"unless-stopped\"` (string)"],
	['an unknown stdio value', (proc) => supervise(node, [], { proc, stdio: 'overlapped' as never }), RangeError, "Expected `options.stdio` to be one of 'inherit', 'pipe', 'ignore', got `\"overlapped\"` (string)"],
	['stdio given as an array', (proc) => supervise(node, [], { proc, stdio: ['pipe'] as never }), TypeError, /^Expected `options.stdio` to be one of/],
	['a negative stopTimeout', (proc) => supervise(node, [], { proc, stopTimeout: -1 }), RangeError, 'Expected `options.stopTimeout` to be a finite number >= 0, got `-1` (number)'],
	['a stopTimeout that is not a number', (proc) => supervise(node, [], { proc, stopTimeout: '5s' as never }), TypeError, 'Expected `options.stopTimeout` to be a finite number >= 0, got `"5s"` (string)'],
	['a negative startSecs', (proc) => supervise(node, [], { proc, startSecs: -0.5 }), RangeError, 'Expected `options.startSecs` to be a finite number >= 0, got `-0.5` (number)'],
	['a NaN startSecs', (proc) => supervise(node, [], { proc, startSecs: Number.NaN }), RangeError, /^Expected `options.startSecs` to be a finite number >= 0, got `NaN`/],
	['a negative maxRestarts', (proc) => supervise(node, [], { proc, maxRestarts: -1 }), RangeError, 'Expected `options.maxRestarts` to be a finite integer >= 0, got `-1` (number)'],
	['a fractional maxRestarts', (proc) => supervise(node, [], { proc, maxRestarts: 1.5 }), RangeError, /^Expected `options.maxRestarts` to be a finite integer/],
	['a negative backoff.initial', (proc) => supervise(node, [], { proc, backoff: { initial: -10 } }), RangeError, 'Expected `options.backoff.initial` to be a finite number >= 0, got `-10` (number)'],
	['a backoff.max below backoff.initial', (proc) => supervise(node, [], { proc, backoff: { initial: 500, max: 100 } }), RangeError, 'Expected `options.backoff.max` to be a finite number >= 500, got `100` (number)'],
	['a backoff.factor below 1', (proc) => supervise(node, [], { proc, backoff: { factor: 0.5 } }), RangeError, 'Expected `options.backoff.factor` to be a finite number >= 1, got `0.5` (number)'],
	['a backoff.jitter above 1', (proc) => supervise(node, [], { proc, backoff: { jitter: 2 } }), RangeError, 'Expected `options.backoff.jitter` to be a finite number from 0 to 1, got `2` (number)'],
	['an unknown backoff option', (proc) => supervise(node, [], { proc, backoff: { min: 1 } as never }), TypeError, /^Unknown option `options.backoff.min`/],
	['an unknown stopSignal', (proc) => supervise(node, [], { proc, stopSignal: 'SIGNOPE' as never }), RangeError, /^Expected `options.stopSignal` to be a signal name such as `SIGTERM`, got `"SIGNOPE"`/],
	['expectedExitCodes that are not an array', (proc) => supervise(node, [], { proc, expectedExitCodes: 0 as never }), TypeError, /^Expected `options.expectedExitCodes` to be an array of exit codes/],
	['a negative expected exit code', (proc) => supervise(node, [], { proc, expectedExitCodes: [0, -1] }), RangeError, /^Expected `options.expectedExitCodes\[1\]` to be a finite integer >= 0/],
	['a killGroup that is not a boolean', (proc) => supervise(node, [], { proc, killGroup: 'yes' as never }), TypeError, 'Expected `options.killGroup` to be a boolean, got `"yes"` (string)'],
	['an empty name', (proc) => supervise(node, [], { proc, name: '' }), RangeError, 'Expected `options.name` to be a non-empty string, got `""` (string)'],
	['an env that is not an object', (proc) => supervise(node, [], { proc, env: 'A=1' as never }), TypeError, /^Expected `options.env` to be an object/],
	['a stdout that is not a stream', (proc) => supervise(node, [], { proc, stdout: console.log as never }), TypeError, /^Expected `options.stdout` to be a writable stream or an object with a `write\(\)` method, got `\[Function log\]`/],
	['an unknown ready kind', (proc) => supervise(node, [], { proc, ready: 'listening' as never }), RangeError, "Expected `options.ready` to be `'message'`, `{ file: path }` or `{ url: 'http://...' }`, got `\"listening\"` (string)"],
	['a ready that is a number', (proc) => supervise(node, [], { proc, ready: 1 as never }), TypeError, /^Expected `options.ready` to be `'message'`, .*, got `1` \(number\)$/],
	['a ready with neither file nor url', (proc) => supervise(node, [], { proc, ready: {} as never }), TypeError, /^Expected `options.ready` to be .*: one of `file` and `url`, got `\[Object\]` \(object\)$/],
	['a ready with both file and url', (proc) => supervise(node, [], { proc, ready: { file: 'ready', url: 'http://127.0.0.1:1/' } as never }), TypeError, /: one of `file` and `url`/],
	['an unknown ready option', (proc) => supervise(node, [], { proc, ready: { path: 'ready' } as never }), TypeError, /^Unknown option `options.ready.path`; known options are `file`, `url`$/],
	['an empty ready file', (proc) => supervise(node, [], { proc, ready: { file: '' } }), RangeError, 'Expected `options.ready.file` to be a non-empty string, got `""` (string)'],
	['a ready file with a null byte', (proc) => supervise(node, [], { proc, ready: { file: 'a\u0000b' } }), RangeError, /^Expected `options.ready.file` to be a string without null bytes/],
	['a ready url that is not a URL', (proc) => supervise(node, [], { proc, ready: { url: 'localhost:3000/readyz' } }), RangeError, 'Expected `options.ready.url` to be an http: or https: URL, got `"localhost:3000/readyz"` (string)'],
	['a ready url that is not http', (proc) => supervise(node, [], { proc, ready: { url: 'ftp://127.0.0.1/ready' } }), RangeError, /^Expected `options.ready.url` to be an http: or https: URL, got `"ftp:\/\/127.0.0.1\/ready"`/],
	['a ready url that is a number', (proc) => supervise(node, [], { proc, ready: { url: 3000 as never } }), TypeError, 'Expected `options.ready.url` to be a non-empty string, got `3000` (number)'],
	['a null ready file', (proc) => supervise(node, [], { proc, ready: { file: null as never } }), TypeError, 'Expected `options.ready.file` to be a non-empty string, got `null` (null)'],
	['a zero readyTimeout', (proc) => supervise(node, [], { proc, ready: 'message', readyTimeout: 0 }), RangeError, 'Expected `options.readyTimeout` to be a finite number > 0, got `0` (number)'],
	['a negative readyTimeout', (proc) => supervise(node, [], { proc, ready: 'message', readyTimeout: -1 }), RangeError, 'Expected `options.readyTimeout` to be a finite number > 0, got `-1` (number)'],
	['a readyTimeout no timer can wait', (proc) => supervise(node, [], { proc, ready: 'message', readyTimeout: 2 ** 31 }), RangeError, 'Expected `options.readyTimeout` to be a finite number <= 2147483647 (the longest a timer can wait), got `2147483648` (number)'],
	['a readyTimeout given in words', (proc) => supervise(node, [], { proc, ready: 'message', readyTimeout: '10s' as never }), TypeError, 'Expected `options.readyTimeout` to be a finite number > 0, got `"10s"` (string)'],
	['a readyTimeout without ready', (proc) => supervise(node, [], { proc, readyTimeout: 5000 }), TypeError, '`options.readyTimeout` (`5000` (number)) needs `options.ready`: without it, a start is judged by time alone'],
	['a proc that is not a proc', (proc) => supervise(node, [], { proc: {} as never }), TypeError, /^Expected `options.proc` to be a proc \(from `createProc\(\)` or the process-wide `proc`\)/],
	// null is bad input, never "use the default".
	...(
		[
			['name', 'a non-empty string'],
			['stdio', "one of 'inherit', 'pipe', 'ignore'"],
			['restart', "one of 'on-failure', 'always', 'never'"],
			['expectedExitCodes', 'an array of exit codes'],
			['startSecs', 'a finite number >= 0'],
			['maxRestarts', 'a finite integer >= 0'],
			['stopSignal', 'a non-empty string'],
			['stopTimeout', 'a finite number >= 0'],
			['killGroup', 'a boolean'],
			['watchdog', 'a boolean'],
			['cwd', 'a string or a file URL'],
			['env', 'an object'],
			['stdout', 'a writable stream or an object with a `write()` method'],
			['stderr', 'a writable stream or an object with a `write()` method'],
			['backoff', 'an object'],
			['ready', "`'message'`, `{ file: path }` or `{ url: 'http://...' }`"],
			['readyTimeout', 'a finite number > 0'],
		] as const
	).map(
		([option, what]): (typeof cases)[number] => [
			`a null ${option}`,
			(proc) => supervise(node, [], { proc, [option]: null } as never),
			TypeError,
			`Expected \`options.${option}\` to be ${what}, got \`null\` (null)`,
		],
	),
	...(['initial', 'max', 'factor', 'jitter'] as const).map(
		(option): (typeof cases)[number] => [
			`a null backoff.${option}`,
			(proc) => supervise(node, [], { proc, backoff: { [option]: null } } as never),
			TypeError,
			new RegExp(`^Expected \`options\\.backoff\\.${option}\` to be a finite number >= \\d+, got \`null\` \\(null\\)`),
		],
	),
	['a null proc', () => supervise(node, [], { proc: null } as never), TypeError, /^Expected `options.proc` to be a proc .*, got `null` \(null\)$/],
	['null options', () => supervise(node, [], null as never), TypeError, 'Expected `options` to be an object, got `null` (null)'],
	['null args', (proc) => supervise(node, null as never, { proc }), TypeError, 'Expected `args` to be an array of strings, got `null` (null)'],
];

describe('bad input is rejected at the call, and nothing is spawned or registered', () => {
	it.each(cases)('rejects %s', async (_, call, ErrorClass, message) => {
		const { fake, proc } = setup();
		const before = spawnedProcessHandles();
		expect(() => call(proc)).toThrow(ErrorClass);
		expect(() => call(proc)).toThrow(message);
		// The first spawn would happen on the next tick; nothing may be there after it.
		await new Promise((resolve) => setImmediate(resolve));
		expect(spawnedProcessHandles()).toBe(before);
		expect(fake.listenedEvents()).toEqual([]);
	});

	it('registers nothing on the given proc when an option is bad', async () => {
		const { fake, proc } = setup();
		const before = spawnedProcessHandles();
		expect(() => supervise(node, ['-e', ''], { proc, stopTimeout: -1 })).toThrow(RangeError);
		await new Promise((resolve) => setImmediate(resolve));
		expect(fake.listenedEvents()).toEqual([]);
		expect(spawnedProcessHandles()).toBe(before);
		expect((await proc.shutdown()).listeners).toEqual([]);
	});

	it('refuses to start a child once shutdown has started', async () => {
		const { proc } = setup();
		void proc.shutdown();
		expect(() => supervise(node, ['-e', ''], { name: 'late', proc })).toThrow('Cannot supervise `late`: shutdown has already started');
	});

	it('checks the options of exitWithParent() too', () => {
		expect(() => exitWithParent({ interval: 0 })).toThrow(RangeError);
		expect(() => exitWithParent({ interval: 0 })).toThrow('Expected `options.interval` to be a finite number >= 1, got `0` (number)');
		expect(() => exitWithParent({ every: 1 } as never)).toThrow(TypeError);
		// null is bad input, never "use the default".
		expect(() => exitWithParent({ interval: null } as never)).toThrow(
			new TypeError('Expected `options.interval` to be a finite number >= 1, got `null` (null)'),
		);
		expect(() => exitWithParent({ proc: null } as never)).toThrow(new TypeError('Expected `options.proc` to be a proc from createProc(), got `null` (null)'));
	});
});

describe('types', () => {
	it('types the handle and its events', () => {
		expectTypeOf(supervise).returns.toEqualTypeOf<SupervisedProcess>();
		expectTypeOf<SupervisedProcess['state']>().toEqualTypeOf<SuperviseState>();
		expectTypeOf<SuperviseState>().toEqualTypeOf<'starting' | 'running' | 'backoff' | 'stopping' | 'exited' | 'fatal'>();
		expectTypeOf<SupervisedProcess['pid']>().toEqualTypeOf<number | undefined>();
		expectTypeOf<SupervisedProcess['stop']>().returns.toEqualTypeOf<Promise<void>>();
		const handle = {} as SupervisedProcess;
		if (false as boolean) {
			handle.on('state', (state, previous) => {
				expectTypeOf(state).toEqualTypeOf<SuperviseState>();
				expectTypeOf(previous).toEqualTypeOf<SuperviseState>();
			});
			handle.on('exit', (code, signal) => {
				expectTypeOf(code).toEqualTypeOf<number | null>();
				expectTypeOf(signal).toEqualTypeOf<NodeJS.Signals | null>();
			});
			handle.on('error', (error) => expectTypeOf(error).toEqualTypeOf<SuperviseError>());
		}
	});

	it('types the readiness options', () => {
		expectTypeOf<SuperviseOptions['ready']>().toEqualTypeOf<ReadyOption | undefined>();
		expectTypeOf<ReadyOption>().toEqualTypeOf<'message' | { file: string | URL } | { url: string | URL }>();
		expectTypeOf<SuperviseOptions['readyTimeout']>().toEqualTypeOf<number | undefined>();
	});
});
