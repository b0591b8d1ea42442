import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixture } from '../helpers/child.js';

// The core under Bun (the npm `bun` package's binary), on this checkout's build. What differs from Node, and
// why, is in docs/runtimes.md. .ci/run runs the same fixture under Bun on the packed tarball (test/system/bun-core.spec.mjs).
const bun = fileURLToPath(new URL('../../node_modules/.bin/bun', import.meta.url));

function startBun(mode: string) {
	const child = spawn(bun, [fixture('bun-core-child.mjs'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
	let stdout = '';
	let stderr = '';
	child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
	child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
	const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
	const lines = () => stdout.split('\n');
	return {
		child,
		closed,
		lines,
		stderr: () => stderr,
		report: () => {
			const line = lines().find((l) => l.startsWith('report '));
			return line ? JSON.parse(line.slice('report '.length)) : undefined;
		},
		async ready() {
			const deadline = Date.now() + 15_000;
			while (!lines().includes('ready')) {
				if (child.exitCode !== null || Date.now() > deadline) throw new Error(`bun child not ready: ${stdout} ${stderr}`);
				await new Promise((resolve) => setTimeout(resolve, 10));
			}
		},
	};
}

describe('under Bun', () => {
	it('createProc with a fake process runs the sequence and leaves nothing on the fake', async () => {
		const child = startBun('fake');
		expect(await child.closed).toEqual([0, null]);
		expect(child.lines()).toContain('fake exited=0 ran=wrap-up,shutdown listening=0');
	});

	it.each(['SIGTERM', 'SIGINT'] as const)('a real %s runs the listeners, reports clean and exits 0', async (signal) => {
		const child = startBun('listener');
		await child.ready();
		child.child.kill(signal);
		expect(await child.closed).toEqual([0, null]);
		expect(child.lines()).toContain(`ran wrap-up:${signal},shutdown`);
		expect(child.report()).toMatchObject({ reason: signal, outcome: 'clean', exitCode: 0 });
	});

	it('the force-quit deadline: exit 1 with the pending listener named', async () => {
		const child = startBun('pending');
		await child.ready();
		child.child.kill('SIGTERM');
		expect(await child.closed).toEqual([1, null]);
		expect(child.report()).toMatchObject({ outcome: 'forced', forcedBy: 'deadline', listeners: [{ name: 'stuck', outcome: 'pending' }] });
	});

	// Bun has no inspector session to the main thread, which is how the watchdog runs the report on a blocked
	// loop under Node: under Bun the watchdog's fallback, SIGKILL, still ends the process at the deadline.
	it('a listener that blocks the event loop: the deadline still holds, by SIGKILL, without a report', async () => {
		const child = startBun('block');
		await child.ready();
		const sent = Date.now();
		child.child.kill('SIGTERM');
		expect(await child.closed).toEqual([null, 'SIGKILL']);
		expect(Date.now() - sent).toBeLessThan(1000 + 1000);
		expect(child.report()).toBeUndefined();
	});
});
