// Builds dist/: an ESM build and a CommonJS build of every entry point, each with its declarations.
//
// - ESM (.js, .d.ts): each entry bundled into one file, with the code entries share (the process-wide proc
//   above all) in common chunks, so that importing the core loads two small modules instead of a dozen: Node's
//   ESM loader pays per module.
// - CommonJS (.cjs, .d.cts): the same files, entries and chunks, converted one by one, so that require() loads
//   as few modules as import does and jest's module system (which cannot require ESM) loads the package. Both
//   builds find the process-wide proc under the same registered symbol, so one process runs one sequence
//   however the package is loaded.
//
// Everything is built in a temporary folder (.tmp/, on the same file system) and swapped in at the end, so that a test run or
// another build going on at the same time never sees a half-built dist/.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = 'node20.19';
const entryPoints = ['src/index.ts', 'src/http/index.ts', 'src/health/index.ts', 'src/supervise/index.ts', 'src/testing.ts', 'src/cli.ts'];

/** Every file under dir, as paths relative to it. */
function walk(dir, base = dir) {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const path = join(dir, entry.name);
		return entry.isDirectory() ? walk(path, base) : [relative(base, path)];
	});
}

/** `./x.js` → `./x.cjs` in relative specifiers of require(), import and export ... from. */
function toCjsSpecifiers(code) {
	return code.replace(/((?:require\(|from |import\()\s*["'])(\.{1,2}\/[^"']+?)\.js(["'])/g, '$1$2.cjs$3');
}

mkdirSync(join(root, '.tmp'), { recursive: true });
const tmp = mkdtempSync(join(root, '.tmp', 'dist-build-'));
try {
	// Declarations: tsc, into the temporary folder.
	const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--outDir', tmp], {
		cwd: root,
		stdio: 'inherit',
	});
	if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status ?? tsc.signal})`);

	await build({
		absWorkingDir: root,
		entryPoints,
		outdir: tmp,
		outbase: 'src',
		bundle: true,
		splitting: true,
		format: 'esm',
		platform: 'node',
		target,
		external: ['debug', 'p-timeout'],
		chunkNames: 'chunks/[name]-[hash]',
		// Node parses every byte of a module it loads: without comments and white space the core loads faster.
		// Identifiers are not renamed, so stack traces read as in the source.
		minifyWhitespace: true,
		minifySyntax: true,
		logLevel: 'warning',
	});

	// p-timeout is ESM only, and jest's module system cannot require() an ES module (nor can Node before
	// require(esm)): the CommonJS build gets its own copy, bundled into one chunk, which only the health entry loads.
	await build({
		absWorkingDir: root,
		stdin: { contents: "export { default, TimeoutError } from 'p-timeout';", resolveDir: root, sourcefile: 'p-timeout.js' },
		outfile: join(tmp, 'chunks/p-timeout.cjs'),
		bundle: true,
		format: 'cjs',
		platform: 'node',
		target,
		banner: { js: '// p-timeout (MIT License, Sindre Sorhus), bundled for the CommonJS build: the package is ESM only.' },
		logLevel: 'warning',
	});

	for (const file of walk(tmp)) {
		const path = join(tmp, file);
		if (file.endsWith('.d.ts')) {
			// The CommonJS declarations: the same text, pointing at their .d.cts siblings.
			writeFileSync(path.replace(/\.d\.ts$/, '.d.cts'), toCjsSpecifiers(readFileSync(path, 'utf8')));
		} else if (file.endsWith('.js') && file !== 'cli.js') {
			const esm = readFileSync(path, 'utf8');
			// `import.meta.url` (createRequire, reading package.json) becomes this file's URL; import() of a lazily
			// loaded chunk becomes require(), which jest's module system supports where import() is not.
			const { code, warnings } = await transform(esm, {
				loader: 'js',
				format: 'cjs',
				platform: 'node',
				target,
				supported: { 'dynamic-import': false },
				define: { 'import.meta.url': '__graceful_proc_url' },
				sourcefile: file,
				logLevel: 'warning',
			});
			if (warnings.length > 0) throw new Error(`${file}: ${warnings.map((w) => w.text).join('; ')}`);
			let cjs = toCjsSpecifiers(code).replace(/require\("p-timeout"\)/g, () => {
				const path = relative(dirname(join(tmp, file)), join(tmp, 'chunks/p-timeout.cjs'));
				return `require(${JSON.stringify(path.startsWith('.') ? path : `./${path}`)})`;
			});
			if (cjs.includes('__graceful_proc_url')) {
				cjs = cjs.replace(/^("use strict";\n)?/, '$1var __graceful_proc_url = require("node:url").pathToFileURL(__filename).href;\n');
			}
			writeFileSync(path.replace(/\.js$/, '.cjs'), cjs);
		}
	}
	// The bin is ESM only: it runs as a program, never loaded by jest.
	chmodSync(join(tmp, 'cli.js'), 0o755);

	// The swap: two renames. A build that runs at the same time may swap in between: then retry.
	const dist = join(root, 'dist');
	for (let attempt = 0; ; attempt++) {
		const old = `${tmp}-old`;
		try {
			renameSync(dist, old);
		} catch (error) {
			if (error.code !== 'ENOENT') throw error;
		}
		try {
			renameSync(tmp, dist);
			rmSync(old, { recursive: true, force: true });
			break;
		} catch (error) {
			rmSync(old, { recursive: true, force: true });
			if ((error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') || attempt >= 10) throw error;
		}
	}
} catch (error) {
	rmSync(tmp, { recursive: true, force: true });
	throw error;
}
