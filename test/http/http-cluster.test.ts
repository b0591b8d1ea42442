// node:cluster, as docs/deploy.md describes it. A worker exits with code 0 the moment its IPC link to the primary
// drops (node's cluster module does that in every worker), so a primary that dies of its signal takes the
// workers' requests in flight with it, whatever the workers do; a primary that passes the signal on and waits
// for its workers lets them drain.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import { failure, keepAliveAgent, request } from '../helpers/http-harness.js';
import { fixture } from '../helpers/child.js';
import { extractSamples } from '../helpers/samples.js';

interface Cluster {
	lines: string[];
	port: number;
	workerPid: number;
	waitFor(pattern: RegExp): Promise<string>;
	closed: Promise<[number | null, NodeJS.Signals | null]>;
	kill(signal: NodeJS.Signals, group?: boolean): void;
}

/** The fixture's primary, in a process group of its own (so that a test can signal it as a terminal's Ctrl+C does). */
async function startCluster(primary: 'bare' | 'graceful', cleanup: Array<() => void>): Promise<Cluster> {
	const child = spawn(process.execPath, [fixture('cluster-server.mjs'), primary], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
	const lines: string[] = [];
	const waiters: Array<() => void> = [];
	let partial = '';
	child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
		const parts = (partial + chunk).split('\n');
		partial = parts.pop()!;
		lines.push(...parts);
		for (const waiter of waiters.splice(0)) waiter();
	});
	let stderr = '';
	child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
	const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
	let exited = false;
	void closed.then(() => {
		exited = true;
		for (const waiter of waiters.splice(0)) waiter();
	});
	const waitFor = (pattern: RegExp) =>
		new Promise<string>((resolve, reject) => {
			const check = () => {
				const found = lines.find((line) => pattern.test(line));
				if (found !== undefined) resolve(found);
				else if (exited) reject(new Error(`no line matching ${pattern}: ${lines.join('\n')}\n${stderr}`));
				else waiters.push(check);
			};
			check();
		});
	const [, port, workerPid] = /^ready (\d+) (\d+)$/.exec(await waitFor(/^ready /))!;
	// A worker left behind by a test that failed must not outlive it.
	cleanup.push(() => {
		try {
			process.kill(-child.pid!, 'SIGKILL');
		} catch {}
	});
	return {
		lines,
		port: Number(port),
		workerPid: Number(workerPid),
		waitFor,
		closed,
		kill: (signal, group = false) => process.kill(group ? -child.pid! : child.pid!, signal),
	};
}

describe('node:cluster', () => {
	it('a primary without graceful-proc dies of SIGTERM, and its worker exits with code 0 at once: the request in flight is reset', async ({ expect, onTestFinished }) => {
		const cleanup: Array<() => void> = [];
		onTestFinished(() => cleanup.forEach((fn) => fn()));
		const cluster = await startCluster('bare', cleanup);
		const agent = keepAliveAgent();
		const slow = failure(request({ port: cluster.port, path: '/?id=slow&ms=1500', agent }));
		await cluster.waitFor(/^request slow$/);
		cluster.kill('SIGTERM');
		expect(await cluster.closed).toEqual([null, 'SIGTERM']);
		expect(['ECONNRESET', 'CUT']).toContain(await slow);
		// The worker's graceful-proc never got a signal: node's cluster module ended it when the IPC link dropped.
		await cluster.waitFor(/^worker-exit /);
		expect(cluster.lines).toContain('worker-exit 0');
		agent.destroy();
	});

	it.for([
		['SIGTERM to the primary', 'SIGTERM', false],
		['Ctrl+C: SIGINT to the primary and its workers', 'SIGINT', true],
	] as const)('a primary that passes the signal on and waits for its workers: %s answers the request in flight, and every process exits 0', async ([, signal, group], { expect, onTestFinished }) => {
		const cleanup: Array<() => void> = [];
		onTestFinished(() => cleanup.forEach((fn) => fn()));
		const cluster = await startCluster('graceful', cleanup);
		const agent = keepAliveAgent();
		const slow = request({ port: cluster.port, path: '/?id=slow&ms=600', agent });
		await cluster.waitFor(/^request slow$/);
		cluster.kill(signal, group);
		const answer = await slow;
		expect([answer.status, answer.body, answer.headers.connection]).toEqual([200, 'slow\n', 'close']);
		expect(await cluster.closed).toEqual([0, null]);
		expect(cluster.lines).toContain('worker-exit 0');
		const report = JSON.parse((await cluster.waitFor(/^report /)).slice('report '.length));
		expect(report).toMatchObject({ outcome: 'clean', listeners: [{ name: 'workers', outcome: 'ok' }] });
		agent.destroy();
	});

	it("docs/deploy.md's primary is the one this file tests", ({ expect }) => {
		const sample = extractSamples('docs/deploy.md').find((s) => s.code.includes('cluster.isPrimary'));
		const code = sample?.code ?? '';
		const primary = code.slice(code.indexOf('  // Longer than'), code.indexOf("{ name: 'workers' },") + "{ name: 'workers' },".length);
		const words = (text: string) => text.replace(/\s+/g, ' ').trim();
		expect(primary).toContain('proc.addWrapUpListener');
		expect(words(readFileSync(fixture('cluster-server.mjs'), 'utf8'))).toContain(words(primary));
	});
});
