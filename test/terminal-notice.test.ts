import { describe, expect, it } from 'vitest';
import { stderrIsTerminal, terminalNotice } from '../src/terminal-notice.js';

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
