import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { type SupervisedProcess, type SuperviseOptions, supervise } from '../../src/supervise/index.js';
import { createLinePrefixer } from '../../src/supervise/prefix-lines.js';
import { createFakeProcess } from '../../src/testing.js';
import { fixture } from '../helpers/child.js';
import { Lines, stateReached, stopAfterEach } from '../helpers/supervise.js';

const handles = stopAfterEach();

function start(args: string[], options: SuperviseOptions): SupervisedProcess {
	const proc = createProc({ process: createFakeProcess(), exit: false, logger: false });
	const handle = supervise(process.execPath, [fixture('supervise-echo.mjs'), ...args], { proc, stderr: new Lines(), ...options });
	handles.push(handle);
	return handle;
}

async function prefixed(prefix: string, chunks: readonly Uint8Array[], options?: { maxLineLength?: number }): Promise<Buffer> {
	const source = new PassThrough();
	const result = buffer(source.pipe(createLinePrefixer(prefix, options)));
	for (const chunk of chunks) source.write(chunk);
	source.end();
	return result;
}

describe("stdio: 'pipe' prefixes every line with the child's name", () => {
	it('writes stdout and stderr lines, prefixed, to the given streams; a last line without a newline gets one', async () => {
		const stdout = new Lines();
		const stderr = new Lines();
		const handle = start([], { name: 'echo', stdio: 'pipe', stdout, stderr });
		await stateReached(handle, 'exited');
		await stdout.waitFor(/no newline/);
		expect(stdout.lines).toContain('[echo] env (unset)');
		expect(stdout.lines.at(-1)).toBe('[echo] no newline at the end');
		expect(stdout.lines.every((line) => line.startsWith('[echo] '))).toBe(true);
		await stderr.waitFor(/stderr/);
		expect(stderr.lines).toEqual(['[echo] to stderr']);
	});

	it('takes any object with write() as a destination, without crashing the parent', async () => {
		const chunks: string[] = [];
		const stderr: string[] = [];
		const handle = start([], {
			name: 'echo',
			stdio: 'pipe',
			stdout: { write: (chunk: Uint8Array) => void chunks.push(Buffer.from(chunk).toString('utf8')) },
			stderr: { write: (chunk: Uint8Array) => void stderr.push(Buffer.from(chunk).toString('utf8')) },
		});
		await stateReached(handle, 'exited');
		const lines = chunks.join('').split('\n');
		expect(lines).toContain('[echo] env (unset)');
		expect(lines).toContain('[echo] no newline at the end');
		expect(stderr.join('')).toBe('[echo] to stderr\n');
	});

	it('loses the lines, not the parent, when the destination\'s write() throws', async () => {
		let calls = 0;
		const handle = start([], {
			name: 'echo',
			stdio: 'pipe',
			stdout: {
				write: () => {
					calls += 1;
					throw new Error('logger closed');
				},
			},
		});
		await stateReached(handle, 'exited');
		expect(calls).toBeGreaterThan(0);
		expect(handle.exitCode).toBe(0);
	});

	it("names the child after the command's basename by default", async () => {
		const stdout = new Lines();
		const handle = start([], { stdio: 'pipe', stdout });
		expect(handle.name).toBe(process.platform === 'win32' ? 'node.exe' : 'node');
		await stdout.waitFor(/^\[node(\.exe)?\] argv/);
	});

	it('is the same whatever the chunking: each line once, prefixed, in order', async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 }), async (chunks) => {
				// Bytes in, bytes out: the prefixer never decodes, so any byte sequence must survive.
				const input = Buffer.concat(chunks);
				const want: Buffer[] = [];
				for (let start = 0; start < input.length; ) {
					const newline = input.indexOf(0x0a, start);
					const end = newline === -1 ? input.length : newline;
					want.push(Buffer.from('> '), input.subarray(start, end), Buffer.from('\n'));
					start = end + 1;
				}
				expect((await prefixed('> ', chunks)).equals(Buffer.concat(want))).toBe(true);
			}),
		);
	});

	it('keeps a multi-byte character split across chunks intact', async () => {
		const bytes = Buffer.from('héllo wörld\n', 'utf8');
		const chunks = [...bytes].map((byte) => Uint8Array.of(byte));
		expect((await prefixed('[x] ', chunks)).toString('utf8')).toBe('[x] héllo wörld\n');
	});

	it('cuts a line longer than maxLineLength, so a child without newlines cannot fill the parent', async () => {
		expect((await prefixed('> ', [Buffer.from('abcdefgh'), Buffer.from('ij\nk')], { maxLineLength: 4 })).toString()).toBe(
			'> abcd\n> efgh\n> ij\n> k\n',
		);
	});
});

describe('no shell: arguments, cwd and env reach the child as given', () => {
	it('passes arguments verbatim, shell syntax and all', async () => {
		const stdout = new Lines();
		const args = ['$HOME', '; echo hacked', '*', '`id`', "it's", '"quoted"', '', 'a b'];
		start(args, { name: 'echo', stdio: 'pipe', stdout });
		const [, json] = (await stdout.waitFor(/^\[echo\] argv (.*)$/))!;
		expect(JSON.parse(json!)).toEqual(args);
	});

	it('runs in cwd with env as the whole environment', async () => {
		const dir = realpathSync(mkdtempSync(join(tmpdir(), 'supervise-cwd-')));
		try {
			const stdout = new Lines();
			const handle = start([], { name: 'echo', stdio: 'pipe', stdout, cwd: dir, env: { SUPERVISE_ECHO: 'from the parent' } });
			await stateReached(handle, 'exited');
			await stdout.waitFor(/no newline/);
			expect(stdout.lines).toContain(`[echo] cwd ${dir}`);
			expect(stdout.lines).toContain('[echo] env from the parent');
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it("discards the output with stdio: 'ignore'", async () => {
		const stdout = new Lines();
		const handle = start([], { stdio: 'ignore', stdout });
		await stateReached(handle, 'exited');
		expect(handle.exitCode).toBe(0);
		expect(stdout.lines).toEqual([]);
	});
});
