// Runs every bench/*.bench.js in a fresh node process, one after the other, and writes bench/RESULTS.md.
//   node bench/run.js            every bench; RESULTS.md is rewritten
//   node bench/run.js core http  only the benches whose file name contains one of the words; their sections
//                                are replaced in the existing RESULTS.md and the others are kept as they were
// A bench prints markdown on stdout (progress, if any, on stderr). One that fails gets its stderr in its
// section, and the runner exits 1 once every selected bench has run.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const resultsFile = join(benchDir, 'RESULTS.md');
const SUFFIX = '.bench.js';
/** A bench that takes longer than this is stopped and reported as failed, so a hung child cannot hang the run. */
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 15 * 60_000);
/** How much of a failed bench's stderr goes into its section. */
const STDERR_TAIL_LINES = 60;

const filters = process.argv.slice(2);
const all = readdirSync(benchDir)
	.filter((file) => file.endsWith(SUFFIX))
	.sort();
const nameOf = (file) => basename(file, SUFFIX);
const selected = filters.length === 0 ? all : all.filter((file) => filters.some((filter) => file.includes(filter)));

if (selected.length === 0) {
	console.error(`bench/run.js: no bench matches ${filters.map((f) => JSON.stringify(f)).join(', ')} (have: ${all.map(nameOf).join(', ') || 'none'})`);
	process.exit(1);
}

function readJson(file) {
	try {
		return JSON.parse(readFileSync(file, 'utf8'));
	} catch {
		return undefined;
	}
}

/** Every package the benches name in a quoted string (an import, a require, a spawn argument) and that is installed. */
function librariesUsed() {
	const pkg = readJson(join(root, 'package.json')) ?? {};
	const candidates = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
	const sources = [];
	const walk = (dir) => {
		for (const entry of readdirSync(dir, { withFileTypes: true })) {
			const path = join(dir, entry.name);
			if (entry.isDirectory()) walk(path);
			else if (/\.(c|m)?js$/.test(entry.name) && path !== fileURLToPath(import.meta.url)) sources.push(readFileSync(path, 'utf8'));
		}
	};
	walk(benchDir);
	const text = sources.join('\n');
	const used = candidates.filter((name) => new RegExp(`['"\`]${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(/[^'"\`]*)?['"\`]`).test(text));
	return [
		{ name: pkg.name ?? 'graceful-proc', version: pkg.version ?? '?' },
		...used.sort().map((name) => ({ name, version: readJson(join(root, 'node_modules', name, 'package.json'))?.version ?? 'not installed' })),
	];
}

function header() {
	const cpus = os.cpus();
	const gib = (os.totalmem() / 1024 ** 3).toFixed(1);
	const libraries = librariesUsed()
		.map(({ name, version }) => `| ${name} | ${version} |`)
		.join('\n');
	return [
		'# Benchmark results',
		'',
		'Written by `npm run bench` (`node bench/run.js [name...]` reruns only some sections). Each bench ran in a fresh',
		'`node` process, one at a time. Sections rerun later say when they were measured.',
		'',
		`- Date: ${new Date().toISOString()}`,
		`- Machine: ${cpus[0]?.model?.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${gib} GiB memory`,
		`- Node: ${process.version} (V8 ${process.versions.v8})`,
		`- OS: ${os.type()} ${os.release()} (${os.platform()} ${os.arch()})`,
		'',
		'| library | version |',
		'|---|---|',
		libraries,
	].join('\n');
}

function runBench(file) {
	return new Promise((resolve) => {
		const started = performance.now();
		const child = spawn(process.execPath, [join(benchDir, file)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		let timedOut = false;
		child.stdout.setEncoding('utf8').on('data', (chunk) => {
			stdout += chunk;
		});
		child.stderr.setEncoding('utf8').on('data', (chunk) => {
			stderr += chunk;
			// Benches report progress on stderr; show it as it comes.
			process.stderr.write(chunk);
		});
		const timer = setTimeout(() => {
			timedOut = true;
			child.kill('SIGKILL');
		}, TIMEOUT_MS);
		child.on('error', (error) => {
			stderr += `\n${error.stack ?? error}`;
		});
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, timedOut, stdout, stderr, seconds: (performance.now() - started) / 1000 });
		});
	});
}

const markers = (name) => [`<!-- bench:${name} -->`, `<!-- /bench:${name} -->`];

function section(name, result) {
	const [open, close] = markers(name);
	const ok = result.code === 0 && !result.timedOut;
	const lines = [open, `## ${name}`, '', `_Measured ${new Date().toISOString()} in ${result.seconds.toFixed(1)} s._`, ''];
	if (!ok) {
		const how = result.timedOut ? `timed out after ${TIMEOUT_MS / 1000} s` : result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
		// Stack traces name this checkout's absolute path; the committed file should not.
		const tail = result.stderr.trimEnd().split('\n').slice(-STDERR_TAIL_LINES).join('\n').replaceAll(root, '.');
		lines.push(`**FAILED**: \`bench/${name}${SUFFIX}\` ${how}.`, '', 'stderr (last lines):', '', '```', tail, '```', '');
		if (result.stdout.trim()) lines.push('Output before it failed:', '');
	}
	lines.push(result.stdout.trim(), close);
	return lines.join('\n');
}

/** The sections of an existing RESULTS.md, by name, in file order. */
function existingSections() {
	const sections = new Map();
	if (!existsSync(resultsFile)) return sections;
	const text = readFileSync(resultsFile, 'utf8');
	for (const match of text.matchAll(/<!-- bench:([\w.-]+) -->[\s\S]*?<!-- \/bench:\1 -->/g)) sections.set(match[1], match[0]);
	return sections;
}

let failed = 0;
const fresh = new Map();
for (const file of selected) {
	const name = nameOf(file);
	process.stderr.write(`\n== bench/${file}\n`);
	const result = await runBench(file);
	const ok = result.code === 0 && !result.timedOut;
	if (!ok) failed += 1;
	process.stderr.write(`== bench/${file}: ${ok ? 'done' : 'FAILED'} in ${result.seconds.toFixed(1)} s\n`);
	fresh.set(name, section(name, result));
}

// Read the old file only now: another run may have written it while ours was measuring.
const old = filters.length === 0 ? new Map() : existingSections();
const names = all.map(nameOf);
const body = names.map((name) => fresh.get(name) ?? old.get(name)).filter(Boolean);
// A section whose bench file is gone (or misspelt) is kept on a partial run, and dropped by a full one.
for (const [name, text] of old) if (!names.includes(name)) body.push(text);
writeFileSync(resultsFile, `${header()}\n\n${body.join('\n\n')}\n`);
process.stderr.write(`\nwrote ${resultsFile}${failed ? ` (${failed} failed)` : ''}\n`);
process.exitCode = failed ? 1 : 0;
