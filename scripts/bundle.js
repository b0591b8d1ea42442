// Bundles each entry point into one file, with the code the entries share (the process-wide proc above all)
// in common chunks, so that importing the core loads two small modules instead of a dozen: Node's ESM
// loader pays per module. Declarations come from tsc (`--emitDeclarationOnly`) beside them.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';

await build({
	entryPoints: ['src/index.ts', 'src/http/index.ts', 'src/health/index.ts', 'src/supervise/index.ts', 'src/testing.ts', 'src/cli.ts'],
	outdir: 'dist',
	outbase: 'src',
	bundle: true,
	splitting: true,
	format: 'esm',
	platform: 'node',
	target: 'node20.19',
	external: ['debug', 'p-timeout'],
	chunkNames: 'chunks/[name]-[hash]',
	logLevel: 'warning',
});
chmodSync('dist/cli.js', 0o755);
