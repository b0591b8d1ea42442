// The shape of src/ the project holds to (scripts/code-shape.js): each file opens with a module header, no
// function is longer than MAX_FUNCTION_LINES and no class than MAX_CLASS_LINES, so that a reader finds an idea
// in one file and a transition on one screen. `node scripts/code-shape.js --list 40` shows the longest functions.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkShape, MAX_CLASS_LINES, MAX_FUNCTION_LINES } from '../../scripts/code-shape.js';

/** The problems the check finds in a folder holding `files`. */
function problemsIn(files: Record<string, string>): string {
	const dir = mkdtempSync(join(tmpdir(), 'code-shape-'));
	try {
		for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
		return checkShape(dir).problems.join('\n');
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

const header = '/**\n * What this file is for,\n * in two lines.\n */\n';
const statements = (n: number) => Array.from({ length: n }, (_, i) => `\tconst v${i} = ${i};`).join('\n');

describe('the shape of src/', () => {
	it(`every file has a module header, no function is over ${MAX_FUNCTION_LINES} lines, no class over ${MAX_CLASS_LINES}`, () => {
		expect(checkShape().problems).toEqual([]);
	});

	it('the check names a file without a header, a long function and a long class made of short methods', () => {
		const methods = Array.from({ length: 6 }, (_, m) => `\tm${m}(): void {\n${statements(MAX_CLASS_LINES / 6)}\n\t}`).join('\n');
		const problems = problemsIn({
			'bare.ts': 'export const x = 1;\n',
			'long.ts': `${header}export function long(): void {\n${statements(MAX_FUNCTION_LINES - 1)}\n}\n`,
			'big.ts': `${header}export class Big {\n${methods}\n}\n`,
		});
		expect(problems).toMatch(/bare\.ts: no module header/);
		expect(problems).toMatch(new RegExp(`long\\.ts:5: function long is ${MAX_FUNCTION_LINES + 1} lines`));
		expect(problems).toMatch(/big\.ts: class Big is \d+ lines/);
		expect(problems).not.toMatch(/big\.ts:\d+: function/);
	});

	it('the check passes a file that keeps to the rules', () => {
		expect(problemsIn({ 'fine.ts': `${header}export function fine(): void {\n${statements(MAX_FUNCTION_LINES - 2)}\n}\n` })).toBe('');
	});
});
