// Builds dist/: an ESM build and a CommonJS build of every entry point, each with its declarations.
//
// - ESM (.js, .d.ts): the core entry (index.js) bundled into one self-contained file, because Node's ESM loader
//   pays per module and the core is what every user imports. The other entries import the core from that file
//   (so there is one process-wide proc, one copy of its code), and share the rest of their code in chunks.
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
const CORE_ENTRY = 'src/index.ts';
const CORE_PLACEHOLDER = 'graceful-proc:core-entry';
const entryPoints = [CORE_ENTRY, 'src/http/index.ts', 'src/health/index.ts', 'src/supervise/index.ts', 'src/testing.ts', 'src/fastify.ts', 'src/nest.ts', 'src/cli.ts'];

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

	const common = {
		absWorkingDir: root,
		outdir: tmp,
		outbase: 'src',
		bundle: true,
		format: 'esm',
		platform: 'node',
		target,
		external: ['debug', 'p-timeout'],
		// Node parses every byte of a module it loads: without comments and white space the core loads faster.
		// Identifiers are not renamed, so stack traces read as in the source.
		minifyWhitespace: true,
		minifySyntax: true,
		// Lines of about 100 characters, not one line per file: an uncaught error thrown in our code makes Node print
		// the line it was thrown from, which would otherwise be most of the bundle (tens of KB on stderr). It costs
		// one byte per line: about 1% of the core's size, and no measurable import time. The CommonJS build, printed
		// from this output with white space, gets the same limit: its merged statements reach 500 characters.
		lineLimit: 100,
		logLevel: 'warning',
	};
	await build({ ...common, entryPoints: [CORE_ENTRY] });
	await build({
		...common,
		entryPoints: entryPoints.filter((entry) => entry !== CORE_ENTRY),
		splitting: true,
		chunkNames: 'chunks/[name]-[hash]',
		plugins: [
			{
				// An import of the core entry stays an import, of a placeholder that each output file gets its own path for below.
				name: 'core-entry-external',
				setup(builder) {
					builder.onResolve({ filter: /(^|\/)index\.js$/ }, (args) =>
						join(args.resolveDir, args.path.replace(/\.js$/, '.ts')) === join(root, CORE_ENTRY) ? { path: CORE_PLACEHOLDER, external: true } : undefined,
					);
				},
			},
		],
	});
	for (const file of walk(tmp)) {
		if (!file.endsWith('.js')) continue;
		const path = join(tmp, file);
		const code = readFileSync(path, 'utf8');
		if (!code.includes(CORE_PLACEHOLDER)) continue;
		const core = relative(dirname(path), join(tmp, 'index.js'));
		writeFileSync(path, code.replaceAll(CORE_PLACEHOLDER, core.startsWith('.') ? core : `./${core}`));
	}

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
				// As for the ESM build: no line that Node could print for an error is long (see common above).
				lineLimit: 100,
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
	// Errors a public function throws at its caller are rethrown by src/call-site.ts with their stack starting at the
	// caller's frame. Node prints the source line an uncaught error was thrown from, unless that line holds this
	// marker (Node's own, which its modules use the same way; Node 20, 22 and 24 honour it): then the user sees their
	// own call first, not a line of ours. Comments are gone from the output, so the marker goes in here, on the line
	// of each such throw.
	const RETHROW = /\bthrow (?=pointAtCaller\d*\()/g;
	for (const file of walk(tmp)) {
		if (!/\.c?js$/.test(file)) continue;
		const path = join(tmp, file);
		const code = readFileSync(path, 'utf8');
		const marked = code.replace(RETHROW, 'throw /* node-do-not-add-exception-line */ ');
		if (marked !== code) writeFileSync(path, marked);
	}
	if (!readFileSync(join(tmp, 'index.js'), 'utf8').includes('throw /* node-do-not-add-exception-line */')) {
		throw new Error('the core bundle has no rethrow of src/call-site.ts to mark (renamed?)');
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
