// Socket activation: a holder keeps the listening socket across restarts, as a systemd .socket unit does, and
// starts the service again with it as fd 3. Under a stream of new connections, ten restarts refuse none; the same
// service listening by itself on the port refuses some at every restart.
import { spawn } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { fixture } from '../helpers/child.js';

const hasPython = spawnSync('python3', ['--version']).status === 0;

function startHolder(restarts: number, plain: boolean) {
	const args = [fixture('socket-holder.py'), ...(plain ? ['--plain'] : []), String(restarts + 1), process.execPath, fixture('activated-app.mjs')];
	// A group of its own, so that the end of the test ends the holder and every service it started at once.
	const holder = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
	const lines: string[] = [];
	const waiters: Array<{ pattern: RegExp; count: number; resolve: (line: string) => void }> = [];
	let partial = '';
	let stderr = '';
	holder.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
	holder.stdout.setEncoding('utf8').on('data', (chunk: string) => {
		partial += chunk;
		const parts = partial.split('\n');
		partial = parts.pop()!;
		for (const line of parts) {
			lines.push(line);
			for (const waiter of [...waiters]) {
				if (lines.filter((l) => waiter.pattern.test(l)).length >= waiter.count) {
					waiters.splice(waiters.indexOf(waiter), 1);
					waiter.resolve(line);
				}
			}
		}
	});
	const closed = new Promise<void>((resolve) => holder.on('close', () => resolve()));
	/** The `count`-th line matching `pattern` (or one already seen). */
	const nth = (pattern: RegExp, count: number) =>
		new Promise<string>((resolve, reject) => {
			const seen = lines.filter((l) => pattern.test(l));
			if (seen.length >= count) return resolve(seen[count - 1]!);
			waiters.push({ pattern, count, resolve });
			void closed.then(() => reject(new Error(`holder ended before ${count}× ${pattern}:\n${lines.join('\n')}\n${stderr}`)));
		});
	return { holder, lines, nth, closed, stderr: () => stderr };
}

/** New connections, four at a time, until stopped: how many were answered, refused, or failed otherwise. */
function load(port: number) {
	const tally = { ok: 0, refused: 0, other: [] as string[] };
	let running = true;
	const one = () =>
		new Promise<void>((resolve) => {
			const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
				res.resume();
				res.on('end', () => {
					if (res.statusCode === 200) tally.ok++;
					else tally.other.push(`status ${res.statusCode}`);
					resolve();
				});
			});
			req.on('timeout', () => req.destroy(new Error('timeout')));
			req.on('error', (error: NodeJS.ErrnoException) => {
				if (error.code === 'ECONNREFUSED') tally.refused++;
				else tally.other.push(error.code ?? error.message);
				resolve();
			});
		});
	const loops = Array.from({ length: 4 }, async () => {
		while (running) await one();
	});
	return {
		tally,
		stop: async () => {
			running = false;
			await Promise.all(loops);
		},
	};
}

async function roll(restarts: number, plain: boolean) {
	const run = startHolder(restarts, plain);
	const port = Number((await run.nth(/^port \d+$/, 1)).split(' ')[1]);
	await run.nth(/^listening /, 1);
	const traffic = load(port);
	try {
		for (let i = 1; i <= restarts; i++) {
			const pid = Number((await run.nth(/^child \d+$/, i)).split(' ')[1]);
			await run.nth(/^listening /, i);
			// Some traffic on this one before it is stopped.
			const before = traffic.tally.ok;
			const until = Date.now() + 10_000;
			while (traffic.tally.ok < before + 20) {
				if (Date.now() > until) throw new Error(`no traffic answered by start ${i} in 10 s`);
				await new Promise((resolve) => setTimeout(resolve, 10));
			}
			process.kill(pid, 'SIGTERM');
			expect(await run.nth(/^exited /, i)).toBe('exited 0');
		}
	} catch (error) {
		throw new Error(`${(error as Error).message}\nholder:\n${run.lines.join('\n')}\n${run.stderr()}\ntally: ${JSON.stringify(traffic.tally)}`);
	} finally {
		await traffic.stop();
		try {
			process.kill(-run.holder.pid!, 'SIGKILL');
		} catch {}
		await run.closed;
	}
	return traffic.tally;
}

describe.skipIf(!hasPython)('systemd socket activation', () => {
	it('ten restarts under a stream of new connections: none refused, every one answered', async () => {
		// The holder starts the service 11 times: the last one still runs, and holds the backlog, when the load stops.
		const tally = await roll(Number(process.env.ROLLS ?? 10), false);
		expect(tally.refused).toBe(0);
		expect(tally.other).toEqual([]);
		expect(tally.ok).toBeGreaterThan(200);
	}, 120_000);

	it('the control: the same service listening on the port by itself refuses connections across restarts', async () => {
		const tally = await roll(3, true);
		expect(tally.refused).toBeGreaterThan(0);
	}, 120_000);
});
