import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

// jest with its defaults in a CommonJS project (jest's own module system, which cannot load ES modules),
// requiring this checkout's build: test/system/jest-testing-kit.cjs is the test file. .ci/run runs the same file
// against the packed tarball.
const root = fileURLToPath(new URL('../..', import.meta.url));
mkdirSync(join(root, '.tmp'), { recursive: true });
const scratch = mkdtempSync(join(root, '.tmp', 'jest-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('runs a jest test file that requires graceful-proc and graceful-proc/testing, with jest fake timers and the README recipe under useFakeProcess(), --detectOpenHandles clean', async () => {
	writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch-jest', private: true, type: 'commonjs' }));
	mkdirSync(join(scratch, 'node_modules'));
	symlinkSync(root, join(scratch, 'node_modules', 'graceful-proc'), 'dir');
	mkdirSync(join(scratch, '__tests__'));
	cpSync(join(root, 'test/system/jest-testing-kit.cjs'), join(scratch, '__tests__/testing-kit.test.js'));
	const results = join(scratch, 'results.json');
	const jest = spawn(process.execPath, [join(root, 'node_modules/jest/bin/jest.js'), '--rootDir', scratch, '--ci', '--detectOpenHandles', '--json', '--outputFile', results], {
		cwd: scratch,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	jest.stdout!.on('data', (chunk) => (output += chunk));
	jest.stderr!.on('data', (chunk) => (output += chunk));
	const [code] = await once(jest, 'close');
	expect(code, output).toBe(0);
	// jest waits for open handles and names them: the app under useFakeProcess() left none.
	expect(output).not.toMatch(/open handle/i);
	const report = JSON.parse(readFileSync(results, 'utf8'));
	expect(report).toMatchObject({ numFailedTests: 0, numPassedTests: 5, numTotalTests: 5 });
});
