import { describe, expect, it } from 'vitest';
import { extractSamples, sampleSource } from '../helpers/samples.js';

// How test/docs/samples.test.ts reads a Markdown file: what a doc writer relies on when tagging a block.
describe('the sample harness reads code blocks the way the docs write them', () => {
	const md = [
		'# Title',
		'',
		'```sh',
		'npm install graceful-proc',
		'```',
		'',
		'<!-- sample: recipe port=3000 readyz=9000 path=/slow stdout=^stopped\\sclean -->',
		'<!-- prelude',
		'const pool = { end: async () => {} };',
		'-->',
		'',
		'```js',
		"import { serve } from 'graceful-proc/http';",
		'```',
		'',
		'<!-- not a sample: the shape of a value -->',
		'```ts',
		'{ reason: string }',
		'```',
		'',
		'- a list item:',
		'',
		'  ```js',
		'  untagged();',
		'  ```',
		'',
		'<!-- sample: test mode=vitest hold=headers exit=75 stderr=any -->',
		'```typescript',
		'const n: number = 1;',
		'```',
	].join('\n');
	const samples = extractSamples('x.md', md);

	it('finds the js and ts blocks only, with the line of their fence', () => {
		expect(samples.map((s) => [s.line, s.lang])).toEqual([
			[12, 'js'],
			[17, 'ts'],
			[23, 'js'],
			[28, 'ts'],
		]);
	});

	it('reads the sample tag, its options and the hidden prelude before the fence', () => {
		const [recipe] = samples;
		expect(recipe).toMatchObject({ name: 'recipe', tagged: true, prelude: 'const pool = { end: async () => {} };\n' });
		expect(recipe!.options).toMatchObject({ port: 3000, readyz: 9000, path: '/slow', exit: 0, mode: 'auto', hold: 'end', stderrAny: false });
		expect(recipe!.options.stdout!.test('stopped clean in 5 ms')).toBe(true);
		expect(sampleSource(recipe!, false)).toBe("const pool = { end: async () => {} };\n\nimport { serve } from 'graceful-proc/http';\n");
	});

	it('keeps the reason of a block that is not a sample', () => {
		expect(samples[1]).toMatchObject({ notASample: 'the shape of a value', tagged: true });
	});

	it('runs an untagged block as it is, without its list indentation', () => {
		expect(samples[2]).toMatchObject({ name: 'line 23', tagged: false, code: 'untagged();', prelude: '' });
	});

	it('strips TypeScript types, and takes the other options', () => {
		const last = samples[3]!;
		expect(last.options).toMatchObject({ mode: 'vitest', hold: 'headers', exit: 75, stderrAny: true });
		expect(sampleSource(last, false)).toMatch(/^const n = 1;/m);
	});

	it('reads the options of a recipe with a setup file, a collector and a log file; a named block may also be "not a sample"', () => {
		const recipe = extractSamples(
			'z.md',
			[
				'<!-- sample: otel-setup -->',
				'<!-- not a sample: loaded by the server below -->',
				'```js',
				'setup();',
				'```',
				'<!-- sample: server import=otel-setup require=some-package/register collector=otlp file=logs/app.log:^done$ -->',
				'```js',
				'serve();',
				'```',
			].join('\n'),
		);
		expect(recipe[0]).toMatchObject({ name: 'otel-setup', notASample: 'loaded by the server below' });
		expect(recipe[1]!.options).toMatchObject({ import: 'otel-setup', require: 'some-package/register', collector: 'otlp', file: { path: 'logs/app.log' } });
		expect(recipe[1]!.options.file!.match.test('x\ndone\n')).toBe(true);
		expect(() => extractSamples('y.md', '<!-- sample: a collector=jaeger -->\n```js\n1\n```\n')).toThrow(/unknown sample option "collector=jaeger"/);
		expect(() => extractSamples('y.md', '<!-- sample: a file=app.log -->\n```js\n1\n```\n')).toThrow(/unknown sample option "file=app.log"/);
	});

	it('reads the app a vitest sample imports, by the name of its block', () => {
		const [, test] = extractSamples('z.md', '<!-- sample: server -->\n```js\nserve();\n```\n<!-- sample: t mode=vitest with=server -->\n```js\nawait import("./server.mjs");\n```\n');
		expect(test!.options).toMatchObject({ mode: 'vitest', with: 'server' });
		expect(() => extractSamples('y.md', '<!-- sample: t mode=vitest with=../server -->\n```js\n1\n```\n')).toThrow(/unknown sample option "with=..\/server"/);
	});

	it('refuses an unknown option, so a typo does not silently run the sample another way', () => {
		expect(() => extractSamples('y.md', '<!-- sample: a redyz=9000 -->\n```js\n1\n```\n')).toThrow(/unknown sample option "redyz=9000"/);
	});
});
