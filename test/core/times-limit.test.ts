// Node's timers fire after 1 ms when asked to wait 2^31 ms or more: every time the package takes is refused
// above 2^31 - 1 ms, by name and with the value, instead of firing at once.
import { once } from 'node:events';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { drain } from '../../src/http/index.js';
import { createHealthTicker } from '../../src/health/index.js';
import { exitWithParent, supervise } from '../../src/supervise/index.js';
import { createFakeProcess } from '../../src/testing.js';

const TOO_LONG = 2 ** 31;
const limit = (argument: string, max = 2147483647) => `Expected \`${argument}\` to be a finite number <= ${max} (the longest a timer can wait), got \`${TOO_LONG}\` (number)`;
const isolated = () => createProc({ process: createFakeProcess(), exit: false, logger: false });

const servers: http.Server[] = [];
afterEach(() => {
	for (const server of servers.splice(0)) server.close();
});

describe('a time above 2^31 - 1 ms is refused everywhere', () => {
	it.each([
		['setTimeToForceQuit', () => isolated().setTimeToForceQuit(TOO_LONG), 'ms'],
		['setTimeToWrapUp', () => isolated().setTimeToWrapUp(TOO_LONG), 'ms'],
		['createProc timeToForceQuit', () => createProc({ process: createFakeProcess(), timeToForceQuit: TOO_LONG }), 'options.timeToForceQuit'],
		['createProc timeToWrapUp', () => createProc({ process: createFakeProcess(), timeToWrapUp: TOO_LONG }), 'options.timeToWrapUp'],
		['a listener timeout', () => isolated().addWrapUpListener(() => {}, { timeout: TOO_LONG }), 'options.timeout'],
		['supervise stopTimeout', () => supervise(process.execPath, [], { proc: isolated(), stopTimeout: TOO_LONG }), 'options.stopTimeout'],
		['supervise backoff.initial', () => supervise(process.execPath, [], { proc: isolated(), backoff: { initial: TOO_LONG } }), 'options.backoff.initial'],
		['exitWithParent interval', () => exitWithParent({ interval: TOO_LONG }), 'options.interval'],
		['the ticker interval', () => createHealthTicker({ proc: isolated(), checks: { db: async () => {} }, interval: TOO_LONG }), 'options.interval'],
		['the ticker timeout', () => createHealthTicker({ proc: isolated(), checks: { db: async () => {} }, timeout: TOO_LONG }), 'options.timeout'],
	])('%s', (_name, call, argument) => {
		expect(call).toThrow(RangeError);
		expect(call).toThrow(limit(argument));
	});

	it('supervise startSecs, given in seconds', () => {
		const call = () => supervise(process.execPath, [], { proc: isolated(), startSecs: TOO_LONG });
		expect(call).toThrow(`Expected \`options.startSecs\` to be a finite number <= 2147483 (the longest a timer can wait), got \`${TOO_LONG}\` (number)`);
	});

	it.each(['delay', 'idleGrace'])('drain %s', async (option) => {
		const server = http.createServer();
		servers.push(server);
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		const proc = isolated();
		expect(() => drain(server, { proc, [option]: TOO_LONG })).toThrow(limit(`options.${option}`));
	});

	it('accepts 2^31 - 1 ms, the longest a timer can wait', () => {
		const proc = isolated();
		proc.setTimeToForceQuit(TOO_LONG - 1);
		expect(proc.timeToForceQuit).toBe(TOO_LONG - 1);
	});
});
