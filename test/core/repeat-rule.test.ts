import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DUPLICATE_SIGNAL_MS, judgeRepeat } from '../../src/repeat-rule.js';
import { sendersOf } from '../../src/signal-senders.js';
import { aSecondCtrlCForces, oneCtrlCIsOneSignal, sendersFor } from '../helpers/repeat-rule.properties.js';

const first = { name: 'SIGINT', at: 1_000_000 };
const after = (ms: number) => first.at + ms;

describe('a repeated signal without knowledge of the senders (not Linux, a test process)', () => {
	it('is a duplicate within 100 ms of the first, whatever its name and however many came, and forces after', () => {
		expect(judgeRepeat({ first, seen: 1, name: 'SIGINT', at: after(99), senders: undefined })).toBe('duplicate');
		expect(judgeRepeat({ first, seen: 5, name: 'SIGTERM', at: after(0), senders: undefined })).toBe('duplicate');
		expect(judgeRepeat({ first, seen: 1, name: 'SIGINT', at: after(DUPLICATE_SIGNAL_MS), senders: undefined })).toBe('force');
	});
});

describe('a repeated signal, judged by who sends', () => {
	it('under a parent that repeats nothing it knows of: one copy of the same signal within 100 ms, nothing else', () => {
		const senders = sendersFor('unknown');
		expect(judgeRepeat({ first, seen: 1, name: 'SIGINT', at: after(5), senders })).toBe('duplicate');
		expect(judgeRepeat({ first, seen: 2, name: 'SIGINT', at: after(6), senders })).toBe('force');
		expect(judgeRepeat({ first, seen: 1, name: 'SIGTERM', at: after(5), senders })).toBe('force');
		expect(judgeRepeat({ first, seen: 1, name: 'SIGINT', at: after(150), senders })).toBe('force');
	});

	it("under nodemon: its second SIGUSR2 is the same restart however late, but not a third", () => {
		const senders = sendersFor('nodemon');
		const restart = { name: 'SIGUSR2', at: first.at };
		expect(judgeRepeat({ first: restart, seen: 1, name: 'SIGUSR2', at: after(320), senders })).toBe('duplicate');
		expect(judgeRepeat({ first: restart, seen: 1, name: 'SIGUSR2', at: after(2500), senders })).toBe('duplicate');
		expect(judgeRepeat({ first: restart, seen: 2, name: 'SIGUSR2', at: after(2600), senders })).toBe('force');
		// A Ctrl+C during the restart is somebody asking.
		expect(judgeRepeat({ first: restart, seen: 1, name: 'SIGINT', at: after(100), senders })).toBe('force');
	});

	it('under nodemon: nothing it sends counts once nodemon is gone or exiting (a second Ctrl+C ends it)', () => {
		const gone = { ...sendersFor('nodemon'), alive: false };
		expect(judgeRepeat({ first, seen: 1, name: 'SIGINT', at: after(40), senders: gone })).toBe('force');
	});

	it('under npm or node --watch: the forwarded SIGINT within 100 ms, the forwarded SIGTERM within a second', () => {
		for (const senders of [sendersFor('npm'), sendersFor('node --watch')]) {
			expect(judgeRepeat({ first, seen: 1, name: 'SIGINT', at: after(60), senders })).toBe('duplicate');
			expect(judgeRepeat({ first, seen: 1, name: 'SIGINT', at: after(150), senders })).toBe('force');
			const term = { name: 'SIGTERM', at: first.at };
			expect(judgeRepeat({ first: term, seen: 1, name: 'SIGTERM', at: after(900), senders })).toBe('duplicate');
			expect(judgeRepeat({ first: term, seen: 1, name: 'SIGTERM', at: after(1000), senders })).toBe('force');
			expect(judgeRepeat({ first: term, seen: 2, name: 'SIGTERM', at: after(10), senders })).toBe('force');
		}
	});

	it('under PM2, which sends once: every repeat forces', () => {
		const senders = sendersOf([{ pid: 7, ppid: 1, pgrp: 7, argv: ['PM2 v7.0.4: God Daemon (/root/.pm2)'], startTime: 1, exiting: false }]);
		expect(judgeRepeat({ first, seen: 1, name: 'SIGINT', at: after(1), senders })).toBe('force');
	});
});

describe('the rule against a model of how each tool sends', () => {
	it('one Ctrl+C, through the terminal, npm, node --watch or nodemon, is one signal', () => {
		fc.assert(oneCtrlCIsOneSignal(), { numRuns: 500 });
	});

	it('a second Ctrl+C 150 ms or more after the first always forces, even when copies of either press merged', () => {
		fc.assert(aSecondCtrlCForces(), { numRuns: 1000 });
	});
});
