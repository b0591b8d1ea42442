// What a user sees when a call with a bad argument throws and nothing catches it: their own file and line, first,
// and no source of ours. Before, Node printed the line of the built package the error was thrown from, which in
// the minified core was most of the bundle (tens of KB on stderr), and the user's frame came after ours.
// The fixtures import the built package (run `npm run build` first).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture, startNode } from '../helpers/child.js';

/** The 1-based line of `// call:<name>` in a fixture: where the call that throws is. */
function callLine(file: string, name: string): number {
	const index = readFileSync(file, 'utf8')
		.split('\n')
		.findIndex((line) => line.endsWith(`// call:${name}`));
	if (index < 0) throw new Error(`no // call:${name} in ${file}`);
	return index + 1;
}

async function uncaught(file: string, name: string) {
	const child = startNode(file, [name]);
	const [code, signal] = await child.closed;
	const stderr = child.stderr();
	const lines = stderr.split('\n');
	return { code, signal, stderr, lines, firstFrame: lines.find((line) => /^\s+at /.test(line)) };
}

const cases: Array<[build: string, file: string, name: string, error: RegExp]> = [
	['ESM', 'bad-call.mjs', 'named export', /^RangeError: Expected `options.timeout` to be a finite number >= 0, got `-1` \(number\)$/m],
	['ESM', 'bad-call.mjs', 'proc method', /^RangeError: Expected `ms` to be a finite number >= 0/m],
	['ESM', 'bad-call.mjs', 'createProc', /^TypeError: Expected `options.exit` to be a boolean/m],
	['ESM', 'bad-call.mjs', 'configure once shutdown started', /^Error: graceful-proc: configure\(\) is not possible once shutdown has started$/m],
	['ESM', 'bad-call.mjs', 'drain', /^TypeError: Expected `server` to be an http, https or http2 server/m],
	['ESM', 'bad-call.mjs', 'supervise', /^RangeError: Expected `command` to be a non-empty string/m],
	['ESM', 'bad-call.mjs', 'createHealthTicker', /^TypeError: Expected `options.checks` to be/m],
	['ESM', 'bad-call.mjs', 'createFakeProcess', /^RangeError: Expected `options.pid` to be/m],
	['ESM', 'bad-call.mjs', 'useFakeProcess', /^RangeError: Expected `options.drainWaits` to be one of 'devWatch', 'production', got `"none"` \(string\)$/m],
	['ESM', 'bad-call.mjs', 'useFakeProcess twice', /^Error: graceful-proc: useFakeProcess\(\): the process-wide proc is already on a fake process \(pid 4242\)/m],
	['CommonJS', 'bad-call.cjs', 'named export', /^RangeError: Expected `options.timeout` to be a finite number >= 0, got `-1` \(number\)$/m],
	['CommonJS', 'bad-call.cjs', 'proc method', /^RangeError: Expected `ms` to be a finite number >= 0/m],
	['CommonJS', 'bad-call.cjs', 'createProc', /^TypeError: Expected `options.exit` to be a boolean/m],
	['CommonJS', 'bad-call.cjs', 'fake process', /^Error: This fake process has no IPC channel/m],
];

describe("an uncaught error from a call with a bad argument points at the caller's line", () => {
	it.each(cases)('%s build, %s: %s', async (_, file, name, error) => {
		const path = fixture(file);
		const { code, signal, stderr, lines, firstFrame } = await uncaught(path, name);
		expect([code, signal]).toEqual([1, null]);
		expect(stderr).toMatch(error);
		// The stack starts at the user's call: file and line.
		expect(firstFrame).toContain(`${file}:${callLine(path, name)}:`);
		// Nothing of ours is printed: no source line, no frame, and no long line of any kind.
		expect(stderr).not.toMatch(/[/\\]dist[/\\]/);
		expect(lines.filter((line) => line.length > 300)).toEqual([]);
	});
});
