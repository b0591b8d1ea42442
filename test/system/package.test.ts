import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, reportOf, startNode } from '../helpers/child.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const scratch = fileURLToPath(new URL('../../.tmp/copies/', import.meta.url));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('importing has no side effects', () => {
	it('installs no process listener, starts no timer and does not load debug', async () => {
		const child = startNode(fixture('import-child.mjs'));
		expect(await child.closed).toEqual([0, null]);
		const { before, after, debugLoaded } = JSON.parse(child.stdout[0]!);
		expect(after).toEqual(before);
		expect(debugLoaded).toBe(false);
	});
});

describe('how the build is laid out', () => {
	it('the core is one file in each build, and the other entry points load it from there instead of a copy', () => {
		const file = (path: string) => readFileSync(`${root}dist/${path}`, 'utf8');
		// Node's loader pays per module: importing the core reads one file of the package.
		expect(file('index.js')).not.toMatch(/(from|import)\s*\(?\s*["']\.{1,2}\//);
		expect(file('index.cjs')).not.toMatch(/require\(\s*["']\.{1,2}\//);
		for (const entry of ['http/index', 'health/index', 'supervise/index']) {
			expect(file(`${entry}.js`)).toMatch(/from\s*"\.\.\/index\.js"/);
			expect(file(`${entry}.cjs`)).toMatch(/require\("\.\.\/index\.cjs"\)/);
		}
		// One copy of the state machine per build.
		const copies = (readdirSync(`${root}dist`, { recursive: true }) as string[]).filter((path) => /\.c?js$/.test(path) && /ProcImpl\s*=\s*class|class ProcImpl/.test(file(path)));
		expect(copies.sort()).toEqual(['index.cjs', 'index.js']);
	});

	it('no built file is one long line: an error thrown in it makes Node print a short line of ours, not the bundle', () => {
		const longest = (path: string) => Math.max(...readFileSync(`${root}dist/${path}`, 'utf8').split('\n').map((line) => line.length));
		const built = (readdirSync(`${root}dist`, { recursive: true }) as string[]).filter((path) => /\.c?js$/.test(path));
		expect(built.length).toBeGreaterThan(10);
		// The core, which every user loads, in lines of about 100 characters; a long string may stretch one, and an
		// import statement of the other entries is never broken.
		expect(longest('index.js')).toBeLessThanOrEqual(300);
		expect(longest('index.cjs')).toBeLessThanOrEqual(300);
		expect(built.filter((path) => longest(path) > 500)).toEqual([]);
	});
});

describe('exactly one sequence per process, however the package is loaded', () => {
	// require() gets the CommonJS build and import() the ESM build: two module instances of every file, and still
	// one proc, whichever of them gets there first.
	it.each(['require-first', 'import-first'])('shares one proc between the CommonJS and the ESM build (%s), and runs each listener once', async (order) => {
		const child = startNode(fixture('esm-cjs-child.cjs'), [order]);
		await child.waitFor(/^loaded require=index\.cjs same=true$/);
		await child.waitFor(/^ready same=true handlers=1$/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		expect(child.stdout).toContain('ran required,imported');
		expect(reportOf(child)).toMatchObject({ outcome: 'clean', exitCode: 0 });
		expect(child.stderr()).not.toMatch(/Error/);
	});

	// run() asks the proc for an exit code floor through a symbol: with a proc made by the other build it must
	// still be found, or a main that fails ends the process with 0.
	it.each(['require-first', 'import-first'])('run() from the other build exits 1 when main fails (%s)', async (order) => {
		const child = startNode(fixture('esm-cjs-child.cjs'), [order, 'run-rejects']);
		expect(await child.closed).toEqual([1, null]);
		expect(reportOf(child)).toMatchObject({ outcome: 'failed', exitCode: 1, reason: { message: 'main failed' } });
	});

	it('shares one proc between two copies in different node_modules folders', async () => {
		const entries = ['one', 'two'].map((name, i) => {
			const dir = `${scratch}${name}/node_modules/graceful-proc`;
			mkdirSync(dir, { recursive: true });
			cpSync(`${root}dist`, `${dir}/dist`, { recursive: true });
			const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
			writeFileSync(`${dir}/package.json`, JSON.stringify({ ...pkg, version: `0.${i + 1}.0` }));
			return pathToFileURL(`${dir}/dist/index.js`).href;
		});
		const child = startNode(fixture('two-copies-child.mjs'), entries);
		await child.waitFor(/^ready same=true handlers=1$/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		expect(child.stdout).toContain('ran first wrap-up,second wrap-up,second shutdown');
		expect(reportOf(child).listeners).toHaveLength(3);
	});
});

describe('errors are recognised across the two builds', () => {
	it('an error made by one build is an instance of the class from the other, and of nothing else', async () => {
		const { createRequire } = await import('node:module');
		const cjs = createRequire(import.meta.url)('graceful-proc') as typeof import('../../src/index.js');
		const esm = (await import('graceful-proc')) as typeof import('../../src/index.js');
		expect(cjs.ForceQuitError).not.toBe(esm.ForceQuitError);
		const made = [new cjs.ForceQuitError('db', 10), new esm.ListenerTimeoutError('db', 5), new cjs.ListenerRemovedError('db')];
		expect(made.map((e) => [e instanceof esm.ForceQuitError, e instanceof cjs.ListenerTimeoutError, e instanceof esm.ListenerRemovedError, e instanceof Error])).toEqual([
			[true, false, false, true],
			[false, true, false, true],
			[false, false, true, true],
		]);
		expect(new Error('x') instanceof esm.ForceQuitError).toBe(false);
		expect({ name: 'ForceQuitError' } instanceof cjs.ForceQuitError).toBe(false);
	});
});
