// drainSignal(req) under Node, Bun and Deno: a request never gets a signal that an earlier request on its keep-alive
// connection listened to and left listened to, however it listened (the signal notices listeners through its own
// addEventListener, and where a runtime's `onabort` setter bypasses that, Bun's, through its own `onabort`); a signal
// whose listeners were all removed is reused. Runs the built package (test/fixtures/drain-signal-reuse.mjs).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DENO_ENV, deno, SERVICE_FLAGS } from '../helpers/deno.js';

const fixture = fileURLToPath(new URL('../fixtures/drain-signal-reuse.mjs', import.meta.url));
const bun = fileURLToPath(new URL('../../node_modules/.bin/bun', import.meta.url));

const RUNTIMES: Array<[string, string | undefined, string[]]> = [
	['node', process.execPath, [fixture]],
	['bun', existsSync(bun) ? bun : undefined, [fixture]],
	['deno', deno, ['run', ...SERVICE_FLAGS, '--allow-read', fixture]],
];

describe('drainSignal(req): a signal an earlier request left listened to is never handed to the next', () => {
	it.for(RUNTIMES)('under %s', async ([, executable, args], { skip }) => {
		if (executable === undefined) return skip();
		const { stdout } = await promisify(execFile)(executable, args, { env: { ...process.env, ...DENO_ENV }, timeout: 60_000 });
		const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, { own: boolean; listeners: number }>;
		const expected: Record<string, { own: boolean; listeners: number }> = {};
		for (const key of Object.keys(result)) expected[key] = { own: !key.endsWith('added and removed'), listeners: 0 };
		expect(Object.keys(result)).toHaveLength(12);
		expect(result).toEqual(expected);
	});
});
