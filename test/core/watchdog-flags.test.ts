// The force-quit watchdog under Node's runtime flags, against real processes and real signals, on every Node
// the tests are given (GRACEFUL_PROC_TEST_NODES, see helpers/nodes.ts; else the one running them): the
// permission model, which may deny the inspector and worker threads the watchdog relies on, and --inspect, with
// and without a debugger attached.
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type Child, fixture, reportOf, startNode } from '../helpers/child.js';
import { InspectorClient } from '../helpers/inspector-client.js';
import { type TestNode, testNodes } from '../helpers/nodes.js';

const script = fixture('watchdog-flags-child.mjs');
const nodes = testNodes();
/** The contract: the process is gone within one second after the deadline. */
const WITHIN = 1000;
const DEADLINE = 1000;

// A child that a failing test leaves behind (a watchdog that did not act) must not outlive the test.
const started: Child[] = [];
function start(node: TestNode, mode: string, execArgv: string[], env: NodeJS.ProcessEnv = {}): Child {
	const child = startNode(script, [mode], { node: node.path, execArgv, env: { TIME_TO_FORCE_QUIT: String(DEADLINE), ...env } });
	started.push(child);
	return child;
}
afterEach(() => {
	for (const child of started.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
});

/** Sends SIGTERM once the child's watchdog has booted (or could not start) and resolves with when it was sent. */
async function terminateWhenReady(child: Child, watchdog = true): Promise<number> {
	await child.waitFor(new RegExp(`^ready watchdog=${watchdog}$`));
	const sentAt = Date.now();
	child.process.kill('SIGTERM');
	return sentAt;
}

/** Resolves once the child's stderr matches `pattern`; rejects if it closes first. */
function stderrMatches(child: Child, pattern: RegExp): Promise<void> {
	return new Promise((resolve, reject) => {
		const check = () => {
			if (!pattern.test(child.stderr())) return;
			child.process.stderr!.off('data', check);
			resolve();
		};
		child.process.stderr!.on('data', check);
		void child.closed.then(() => reject(new Error(`closed before stderr matched ${pattern}: ${child.stderr()}`)));
		check();
	});
}

/** Every process whose command line is exactly `words` (Linux /proc). */
function processesRunning(words: string[]): number[] {
	const found: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
			if (argv.join(' ') === words.join(' ')) found.push(Number(entry));
		} catch {}
	}
	return found;
}

/** Node's permission model with reading files allowed (the package, and /proc for the watchdog), plus `allow`. */
const permission = (node: TestNode, ...allow: string[]) => [node.permissionFlag, '--allow-fs-read=*', ...allow];
const LIMITED = 'GRACEFUL_PROC_WATCHDOG_LIMITED';

describe('under the permission model', () => {
	for (const node of nodes) {
		it(`Node ${node.version}, workers allowed but not the inspector: a listener that blocks the loop is ended by SIGKILL within a second of the deadline, after a line on stderr (and one warning at startup), not by Node's crash`, async () => {
			const child = start(node, 'spin', permission(node, '--allow-worker'));
			const sentAt = await terminateWhenReady(child);
			await child.waitFor(/^wrapping-up$/);
			const [code, signal] = await child.closed;
			expect([code, signal]).toEqual([null, 'SIGKILL']);
			expect(child.closedAt() - sentAt).toBeLessThan(DEADLINE + WITHIN);
			const stderr = child.stderr();
			expect(stderr).not.toMatch(/Assertion failed/);
			expect(stderr.split(LIMITED)).toHaveLength(2);
			expect(stderr).toMatch(/graceful-proc: the force-quit deadline passed \d+ ms ago and the event loop is still blocked, .*inspector.*: SIGKILL/);
		});

		it.skipIf(process.platform !== 'linux')(
			`Node ${node.version}, workers and child processes allowed: a listener blocked in execSync has its child ended at the deadline, and the process exits 1 with the report naming it`,
			async () => {
				const marker = `30.${process.pid}${node.major}`;
				const child = start(node, 'exec-sleep', permission(node, '--allow-worker', '--allow-child-process'), { SLEEP_MARKER: marker });
				const sentAt = await terminateWhenReady(child);
				await child.waitFor(/^wrapping-up$/);
				const [code, signal] = await child.closed;
				expect([code, signal]).toEqual([1, null]);
				expect(child.closedAt() - sentAt).toBeLessThan(DEADLINE + WITHIN);
				// Without the inspector nothing runs before the call returns: the listener fails (its child was
				// killed) and ends the sequence, before the proc's overdue timer can.
				expect(reportOf(child)).toMatchObject({ outcome: 'failed', exitCode: 1, listeners: [{ name: 'exec-sleep', outcome: 'error' }] });
				expect(child.stderr()).toMatch(/shutdown failed in \d+ ms[\s\S]*error\s+exec-sleep.*Command failed/);
				expect(processesRunning(['sleep', marker])).toEqual([]);
			},
		);

		it.skipIf(!node.hasAllowInspector)(
			`Node ${node.version}, workers and the inspector allowed: a listener that blocks the loop ends with exit 1 and the report, with no warning`,
			async () => {
				const child = start(node, 'spin', permission(node, '--allow-worker', '--allow-inspector'));
				const sentAt = await terminateWhenReady(child);
				const [code, signal] = await child.closed;
				expect([code, signal]).toEqual([1, null]);
				expect(child.closedAt() - sentAt).toBeLessThan(DEADLINE + WITHIN);
				expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'blocked', listeners: [{ name: 'spin', outcome: 'pending' }] });
				expect(child.stderr()).not.toContain(LIMITED);
			},
		);

		it(`Node ${node.version}, workers not allowed: the watchdog says it cannot start, and a pending listener still ends with exit 1 and the report at the deadline`, async () => {
			const child = start(node, 'pending', permission(node));
			const sentAt = await terminateWhenReady(child, false);
			const [code, signal] = await child.closed;
			expect([code, signal]).toEqual([1, null]);
			expect(child.closedAt() - sentAt).toBeLessThan(DEADLINE + WITHIN);
			expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'deadline', listeners: [{ name: 'pending', outcome: 'pending' }] });
			expect(child.stderr()).toMatch(/graceful-proc: the force-quit watchdog could not start/);
		});
	}
});

/** The inspector on a port of the system's choosing, on the loopback interface only. */
const INSPECT = '--inspect=127.0.0.1:0';

/** Attaches a debugger to the child's inspector, with the domains a developer's debugger enables. */
async function attachDebugger(child: Child): Promise<InspectorClient> {
	const url = (await child.waitFor(/^inspector (ws:\S+)$/))[1]!;
	const client = await InspectorClient.connect(url);
	await client.send('Runtime.enable');
	await client.send('Debugger.enable');
	return client;
}

describe('under --inspect', () => {
	for (const node of nodes) {
		it(`Node ${node.version}, no debugger attached: a listener that blocks the loop ends with exit 1 and the report within a second of the deadline`, async () => {
			const child = start(node, 'spin', [INSPECT]);
			const sentAt = await terminateWhenReady(child);
			const [code, signal] = await child.closed;
			expect([code, signal]).toEqual([1, null]);
			expect(child.closedAt() - sentAt).toBeLessThan(DEADLINE + WITHIN);
			expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'blocked', exitCode: 1, listeners: [{ name: 'spin', outcome: 'pending' }] });
			expect(child.stderr()).toMatch(/shutdown forced after \d+ ms[\s\S]*pending\s+spin/);
		});

		it(`Node ${node.version}, a debugger attached and running: a listener that blocks the loop ends with exit 1 and the report within a second of the deadline, the debugger disconnected`, async () => {
			const child = start(node, 'spin', [INSPECT]);
			const client = await attachDebugger(child);
			const sentAt = await terminateWhenReady(child);
			const [code, signal] = await child.closed;
			expect([code, signal]).toEqual([1, null]);
			expect(child.closedAt() - sentAt).toBeLessThan(DEADLINE + WITHIN);
			expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'blocked', listeners: [{ name: 'spin', outcome: 'pending' }] });
			await client.closed;
		});

		it(`Node ${node.version}, a debugger holding a listener at a breakpoint past the deadline: the process is left to the developer (said on stderr), and once resumed it ends at once, exit 1 and the report`, async () => {
			const child = start(node, 'breakpoint', [INSPECT]);
			const client = await attachDebugger(child);
			const sentAt = await terminateWhenReady(child);
			await client.event('Debugger.paused');
			await stderrMatches(child, /graceful-proc: the force-quit deadline passed while a debugger holds the main thread at a breakpoint/);
			// Past the moment the process would be gone without a debugger, and what the watchdog does after it.
			await new Promise((resolve) => setTimeout(resolve, sentAt + DEADLINE + WITHIN + 250 - Date.now()));
			expect([child.process.exitCode, child.process.signalCode]).toEqual([null, null]);
			const resumedAt = Date.now();
			await client.send('Debugger.resume');
			const [code, signal] = await child.closed;
			expect([code, signal]).toEqual([1, null]);
			expect(child.closedAt() - resumedAt).toBeLessThan(WITHIN);
			expect(child.stdout).toContain('resumed');
			expect(reportOf(child)).toMatchObject({ outcome: 'forced', forcedBy: 'deadline', listeners: [{ name: 'breakpoint', outcome: 'pending' }] });
			expect(child.stderr().split('a debugger holds the main thread')).toHaveLength(2);
		});
	}
});
