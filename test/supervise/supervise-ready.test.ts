// Readiness: a child says when it is ready, and a start (a reload's replacement above all) counts from then, not
// from the clock. Real children, and a client that polls the service all through a reload, with two CPU hogs
// running beside the reloads; the children run on every Node the tests are given (GRACEFUL_PROC_TEST_NODES, see
// helpers/nodes.ts; else the one running them). They are meant to hold on a loaded machine too.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { type SupervisedProcess, SuperviseError, type SuperviseOptions, supervise } from '../../src/supervise/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { fixture } from '../helpers/child.js';
import { startHogs } from '../helpers/hogs.js';
import { type TestNode, testNodes } from '../helpers/nodes.js';
import { isRunning, killLeftoversAfterEach, Lines, recordStates, stateReached, stopAfterEach } from '../helpers/supervise.js';

const leftovers = killLeftoversAfterEach();
let dir: string;
let version: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'graceful-proc-ready-'));
	version = join(dir, 'version');
	await writeFile(version, 'serve 0');
});

afterEach(async () => {
	await rm(dir, { recursive: true, force: true });
});
// Registered after the folder's removal, so that it runs first: the children are stopped, then their folder goes.
const handles = stopAfterEach();

function start(node: TestNode, options: SuperviseOptions) {
	const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
	const out = new Lines();
	const handle = supervise(node.path, [fixture('supervise-ready.mjs'), version], {
		name: 'app',
		stdio: 'pipe',
		stdout: out,
		watchdog: false,
		proc,
		...options,
	});
	handles.push(handle);
	// Every child this test started, killed after it whatever happened.
	handle.on('state', () => handle.pid !== undefined && leftovers.push(handle.pid));
	return { handle, out, proc };
}

/** The port each child serves on, by pid, from its `listening <pid> <port>` lines. */
function portsOf(out: Lines): Map<number, number> {
	const ports = new Map<number, number>();
	for (const line of out.lines) {
		const match = /^\[app\] listening (\d+) (\d+)$/.exec(line);
		if (match) ports.set(Number(match[1]), Number(match[2]));
	}
	return ports;
}

function get(port: number): Promise<string> {
	return new Promise((resolve, reject) => {
		const request = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (response) => {
			let body = '';
			response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
			response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`status ${response.statusCode}`))));
		});
		request.on('timeout', () => request.destroy(new Error('no answer in 5 s')));
		request.on('error', reject);
	});
}

/**
 * A client of the service. The service is whichever child the handle names (`handle.pid`), as a proxy or a
 * service registry that follows the supervisor would route: each request goes to that child's port. A request
 * fails when that child does not serve yet (no port, or the connection is refused) or answers as another.
 */
function pollService(handle: SupervisedProcess, out: Lines) {
	const failures: string[] = [];
	let requests = 0;
	let running = true;
	const done = (async () => {
		while (running) {
			const pid = handle.pid;
			const port = pid === undefined ? undefined : portsOf(out).get(pid);
			requests += 1;
			if (port === undefined) failures.push(`child ${pid} does not serve yet`);
			else {
				const body = await get(port).catch((error: Error) => `failed: ${error.message}`);
				if (body !== String(pid)) failures.push(`child ${pid}: ${body}`);
			}
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	})();
	return {
		failures,
		requests: () => requests,
		stop: async () => {
			running = false;
			await done;
		},
	};
}

async function servingPid(handle: SupervisedProcess, out: Lines): Promise<number> {
	await stateReached(handle, 'running', 20_000);
	const pid = handle.pid!;
	await out.waitFor(new RegExp(`^\\[app\\] listening ${pid} \\d+$`));
	return pid;
}

for (const node of testNodes()) {
	describe(`Node ${node.version}: reload() with readiness, two CPU hogs running: the replacement takes over once it is ready`, () => {
		let hogs: { stop(): void } | undefined;
		beforeEach(() => {
			hogs = startHogs(2);
		});
		afterEach(() => {
			hogs?.stop();
		});

		it('a replacement that boots for 2 s takes over only once it serves: a client polling the service sees no failed request', async () => {
			const { handle, out } = start(node, { ready: 'message' });
			const oldPid = await servingPid(handle, out);
			await writeFile(version, 'serve 2000');
			const client = pollService(handle, out);
			const startedAt = performance.now();
			await handle.reload();
			const tookMs = performance.now() - startedAt;
			// A few more requests to the new child, after the old one is gone.
			const after = client.requests();
			while (client.requests() < after + 5) await new Promise((resolve) => setTimeout(resolve, 20));
			await client.stop();

			expect(client.failures).toEqual([]);
			expect(client.requests()).toBeGreaterThan(50);
			const newPid = handle.pid!;
			expect(newPid).not.toBe(oldPid);
			expect(isRunning(oldPid)).toBe(false);
			expect(handle.state).toBe('running');
			expect(handle.restarts).toBe(1);
			// Its 2 s of boot, then startSecs (1 s) counted from readiness, then the old child's stop (1 s of drain).
			expect(tookMs).toBeGreaterThanOrEqual(4000);
		});

		it('a replacement that crashes 20 ms after its first line leaves the old child serving, and reload() rejects', async () => {
			const { handle, out } = start(node, { ready: 'message' });
			const oldPid = await servingPid(handle, out);
			const states = recordStates(handle);
			await writeFile(version, 'crash 7');
			const client = pollService(handle, out);
			const error = await handle.reload().then(
				() => undefined,
				(e: unknown) => e,
			);
			// The old child serves on after the failed reload.
			const after = client.requests();
			while (client.requests() < after + 10) await new Promise((resolve) => setTimeout(resolve, 20));
			await client.stop();

			expect(error).toBeInstanceOf(SuperviseError);
			expect((error as SuperviseError).message).toBe(
				'The replacement for `app` ended with exit code 7 before it counted as started (ready, then 1s); the old child keeps running',
			);
			expect((error as SuperviseError).exitCode).toBe(7);
			expect(client.failures).toEqual([]);
			expect(isRunning(oldPid)).toBe(true);
			expect(handle.pid).toBe(oldPid);
			expect(handle.state).toBe('running');
			expect(handle.restarts).toBe(0);
			expect(states.map((s) => s.state)).toEqual(['starting', 'running']);
			expect(out.lines).not.toContain(`[app] stopping ${oldPid}`);
		});

		it('a replacement that is never ready is stopped at readyTimeout, and the old child keeps running', async () => {
			// Room for the first child's own start, which the same timeout bounds: from spawn to its 'ready' took up to
			// 1.2 s with four CPU hogs on two cores at load 12, and more than 2.5 s at load 20.
			const { handle, out } = start(node, { ready: 'message', readyTimeout: 6000 });
			const oldPid = await servingPid(handle, out);
			await writeFile(version, 'silent');
			const exited = new Promise((resolve) => handle.once('exit', (code, signal) => resolve([code, signal])));
			await expect(handle.reload()).rejects.toThrow(
				new SuperviseError('The replacement for `app` was not ready within readyTimeout (6000 ms); the old child keeps running', { child: 'app' }),
			);
			const [, newPid] = (await out.waitFor(/^\[app\] stopping (\d+)$/))!;
			expect(Number(newPid)).not.toBe(oldPid);
			// The replacement was stopped as stop() does, and its exit is an 'exit' event.
			expect(await exited).toEqual([0, null]);
			expect(isRunning(Number(newPid))).toBe(false);
			expect(isRunning(oldPid)).toBe(true);
			expect(handle.pid).toBe(oldPid);
			expect(handle.state).toBe('running');
		});

		it('without readiness, a replacement is judged by time alone: one that boots for 2 s takes over before it serves', async () => {
			const { handle, out } = start(node, { startSecs: 1 });
			await servingPid(handle, out);
			await writeFile(version, 'serve 2000');
			const client = pollService(handle, out);
			await handle.reload();
			await client.stop();
			// The gap the readiness option closes.
			expect(client.failures.length).toBeGreaterThan(0);
			expect(client.failures[0]).toMatch(/does not serve yet/);
		});
	});

	describe(`Node ${node.version}: a start with readiness counts from readiness`, () => {
		it("is 'starting' until the child is ready and has stayed up startSecs more", async () => {
			await writeFile(version, 'serve 1000');
			const { handle, out } = start(node, { ready: 'message', startSecs: 0.2 });
			await stateReached(handle, 'running', 20_000);
			expect(out.lines.some((line) => line.startsWith('[app] listening '))).toBe(true);
			expect(handle.restarts).toBe(0);
		});

		it('a child not ready within readyTimeout is stopped and counts as a failed start', async () => {
			await writeFile(version, 'silent');
			// Long enough for the child to have started and put its SIGTERM handler in place (it says so when stopped):
			// its own start took more than 2 s on a machine at load 20.
			const { handle, out } = start(node, { ready: 'message', readyTimeout: 6000, maxRestarts: 0 });
			const failed = new Promise<SuperviseError>((resolve) => handle.on('error', resolve));
			const error = await failed;
			expect(error.message).toBe('`app` failed 1 start in a row (the last was not ready within readyTimeout (6000 ms)), more than maxRestarts (0); not restarting it');
			expect(handle.state).toBe('fatal');
			// It was asked to stop (it exits 0 then, which under 'on-failure' would not count as a failure by itself).
			expect(out.lines.some((line) => line.startsWith('[app] stopping '))).toBe(true);
			expect(handle.exitCode).toBe(0);
		});

		it('a readiness URL counts once it answers 2xx', async () => {
			const port = await freePort();
			// Serves 503 for its first second, then 200.
			const code = `const t = Date.now(); console.log('up'); require('node:http').createServer((q, s) => { s.statusCode = Date.now() - t < 1000 ? 503 : 200; if (s.statusCode === 200) console.log('answered 200'); s.end() }).listen(${port}, '127.0.0.1')`;
			const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
			const out = new Lines();
			const handle = supervise(node.path, ['-e', code], { name: 'app', stdio: 'pipe', stdout: out, watchdog: false, proc, ready: { url: `http://127.0.0.1:${port}/readyz` }, startSecs: 0.2 });
			handles.push(handle);
			await out.waitFor(/^\[app\] up$/);
			leftovers.push(handle.pid!);
			await stateReached(handle, 'running', 20_000);
			expect(out.lines).toContain('[app] answered 200');
		});
	});
}

describe('a start with readiness counts from readiness, for a child that is not node', () => {
	it('a readiness file counts once the child creates it; a file left from before does not (a child that is not node)', async () => {
		const file = join(dir, 'ready');
		await writeFile(file, 'left by an earlier child');
		const script = 'echo booting; sleep 1; echo touching; : > ready; exec sleep 600';
		const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
		const out = new Lines();
		const handle = supervise('sh', ['-c', script], { name: 'app', cwd: dir, stdio: 'pipe', stdout: out, watchdog: false, proc, ready: { file: 'ready' }, startSecs: 0.2 });
		handles.push(handle);
		await out.waitFor(/^\[app\] booting$/);
		leftovers.push(handle.pid!);
		await stateReached(handle, 'running', 20_000);
		expect(out.lines).toContain('[app] touching');
	});
});

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = http.createServer().listen(0, '127.0.0.1', () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
		server.on('error', reject);
	});
}
