import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { stderrIsTerminal, terminalNotice } from '../../src/terminal-notice.js';
import { fixture, startNode } from '../helpers/child.js';

describe('the line a person at a terminal sees when the sequence starts', () => {
	it('says what it waits for, how long at most, and that another Ctrl+C stops it now', () => {
		expect(terminalNotice({ reason: 'SIGINT', pending: ['http 127.0.0.1:3000', 'db'], forceQuitInMs: 5500 }, true)).toBe(
			'graceful-proc: SIGINT: stopping, waiting for http 127.0.0.1:3000, db (at most 5.5 s). Press Ctrl+C again to stop now (exit 1, pending listeners cut).\n',
		);
	});

	it('names three listeners and counts the rest, and reads well with none', () => {
		const line = terminalNotice({ reason: 'SIGTERM', pending: ['a', 'b', 'c', 'd', 'e'], forceQuitInMs: 12_000 }, true)!;
		expect(line).toContain('waiting for a, b, c and 2 more (at most 12 s)');
		expect(terminalNotice({ reason: 'SIGINT', pending: [], forceQuitInMs: 1000 }, true)).toMatch(/^graceful-proc: SIGINT: stopping \(at most 1 s\)\. /);
		expect(line.split('\n')).toHaveLength(2);
	});

	it('is nothing when stderr is not a terminal (a container, a pipe, a file)', () => {
		expect(terminalNotice({ reason: 'SIGINT', pending: ['http'], forceQuitInMs: 5500 }, false)).toBeUndefined();
		// The test runner's stderr is a pipe.
		expect(stderrIsTerminal()).toBe(false);
		expect(terminalNotice({ reason: 'SIGINT', pending: ['http'], forceQuitInMs: 5500 })).toBeUndefined();
	});
});

describe.skipIf(process.platform !== 'linux')('the line, from a real process', () => {
	const script = fixture('repeat-child.mjs');
	/** Runs the fixture with its stdio on a pseudo-terminal (`script`), sends it SIGINT, returns what the terminal showed. */
	async function atTerminal(): Promise<string> {
		const child = spawn('script', ['-qfec', `${JSON.stringify(process.execPath)} ${JSON.stringify(script)} hang`, '/dev/null'], {
			stdio: ['pipe', 'pipe', 'pipe'],
			env: { ...process.env, TIME_TO_FORCE_QUIT: '1000' },
		});
		let out = '';
		let signalled = false;
		const closed = once(child, 'close');
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
			out += chunk;
			const match = /ready (\d+)/.exec(out);
			if (match && !signalled) {
				signalled = true;
				process.kill(Number(match[1]), 'SIGINT');
			}
		});
		await closed;
		return out;
	}

	it('is printed at a terminal when Ctrl+C starts the sequence, before anything else it prints', async () => {
		const shown = await atTerminal();
		expect(shown).toMatch(/graceful-proc: SIGINT: stopping, waiting for stuck-queue \(at most 1 s\)\. Press Ctrl\+C again to stop now/);
		expect(shown.indexOf('Press Ctrl+C again')).toBeLessThan(shown.indexOf('first '));
	});

	it('is not printed when stderr is a pipe', async () => {
		const child = startNode(script, ['hang'], { env: { TIME_TO_FORCE_QUIT: '1000' } });
		await child.waitFor(/^ready/);
		child.process.kill('SIGINT');
		expect(await child.closed).toEqual([1, null]);
		expect(child.stderr()).toMatch(/shutdown forced/);
		expect(child.stderr()).not.toMatch(/Press Ctrl\+C/);
	});
});
