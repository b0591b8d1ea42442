// `bun test` on the packed package: .ci/run copies this file and test/fixtures/bun-core-child.mjs into a scratch
// project that installed the tarball, and runs it with Bun. (test/system/bun-core.test.ts runs the same fixture under
// Bun on this checkout's build, from vitest.)
import { expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { join } from 'node:path';

const script = join(import.meta.dir, 'bun-core-child.mjs');

function start(mode) {
	const child = spawn(process.execPath, [script, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
	let stdout = '';
	child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
	child.stderr.resume();
	const closed = once(child, 'close');
	return {
		child,
		closed,
		lines: () => stdout.split('\n'),
		report() {
			const line = stdout.split('\n').find((l) => l.startsWith('report '));
			return line ? JSON.parse(line.slice('report '.length)) : undefined;
		},
		async line(pattern) {
			for (let waited = 0; waited < 15_000; waited += 10) {
				const found = stdout.split('\n').find((l) => pattern.test(l));
				if (found) return found;
				if (child.exitCode !== null) break;
				await Bun.sleep(10);
			}
			throw new Error(`no line matching ${pattern}: ${stdout}`);
		},
	};
}

test('the testing kit: createProc with a fake process', async () => {
	const child = start('fake');
	expect(await child.closed).toEqual([0, null]);
	expect(child.lines()).toContain('fake exited=0 ran=wrap-up,shutdown listening=0');
});

test('a real SIGTERM runs the listeners and exits 0 with a clean report', async () => {
	const child = start('listener');
	await child.line(/^ready$/);
	child.child.kill('SIGTERM');
	expect(await child.closed).toEqual([0, null]);
	expect(child.lines()).toContain('ran wrap-up:SIGTERM,shutdown');
	expect(child.report()).toMatchObject({ outcome: 'clean', exitCode: 0 });
});

test('serve(): a request in flight at SIGTERM gets its response, and the process exits 0', async () => {
	const child = start('serve');
	const url = (await child.line(/^ready /)).slice('ready '.length);
	const response = new Promise((resolve, reject) => {
		http.get(`${url}/slow`, (res) => {
			let body = '';
			res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode, body }));
		}).on('error', reject);
	});
	await child.line(/^slow request started$/);
	child.child.kill('SIGTERM');
	expect(await response).toEqual({ status: 200, body: 'slow done' });
	expect(await child.closed).toEqual([0, null]);
	expect(child.report()).toMatchObject({ outcome: 'clean', exitCode: 0 });
});
