#!/usr/bin/env node
// The end of a CI log: the failed tests of every run, named, then one line of totals. Each argument is the
// results file of one run: jest-style JSON (vitest, jest) or JUnit XML (bun). A run that wrote no results
// counts as one failure. Exits 1 when anything failed.  Usage: node .ci/tally.mjs RESULTS...
import { existsSync, readFileSync, statSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

/** Jest-style JSON: per file, its failed tests with the first lines of their message, or why the file failed to load. */
function jsonRun(path, text) {
	const run = JSON.parse(text);
	passed += run.numPassedTests;
	failed += run.numFailedTests;
	skipped += run.numPendingTests + run.numTodoTests;
	for (const file of run.testResults ?? []) {
		const failedTests = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
		// A file that failed to load has no failed test, only a message.
		if (failedTests.length === 0 && file.status === 'failed') failures.push(`${path}: ${file.name}: ${String(file.message).slice(0, 600)}`);
		for (const test of failedTests) {
			const message = String(test.failureMessages?.[0] ?? '').split('\n').slice(0, 6).join('\n    ');
			failures.push(`${path}: ${file.name}: ${test.fullName}\n    ${message}`);
		}
	}
}

const ENTITIES = { quot: '"', apos: "'", lt: '<', gt: '>', amp: '&' };

/** JUnit XML: the totals of <testsuites>, and the name of each <testcase> that holds a <failure> or an <error>. */
function junitRun(path, text) {
	const count = (name) => Number(text.match(new RegExp(`<testsuites[^>]*\\s${name}="(\\d+)"`))?.[1] ?? 0);
	const tests = count('tests');
	const bad = count('failures') + count('errors');
	const skip = count('skipped');
	passed += tests - bad - skip;
	failed += bad;
	skipped += skip;
	if (bad === 0) return;
	// A passing <testcase .../> closes itself; a failed one holds its <failure> or <error>.
	const names = [...text.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)]
		.filter(([, , body]) => /<(failure|error)\b/.test(body ?? ''))
		.map(([, attributes]) => (attributes.match(/\bname="([^"]*)"/)?.[1] ?? '?').replace(/&(quot|apos|lt|gt|amp);/g, (_, entity) => ENTITIES[entity]));
	failures.push(`${path}: ${bad} failed${names.length ? `: ${names.join('; ')}` : ''}; the run's output above says why`);
}

for (const path of process.argv.slice(2)) {
	if (!existsSync(path) || statSync(path).size === 0) {
		failed += 1;
		failures.push(`${path}: the run wrote no results`);
		continue;
	}
	const text = readFileSync(path, 'utf8');
	try {
		if (path.endsWith('.xml')) junitRun(path, text);
		else jsonRun(path, text);
	} catch (error) {
		failed += 1;
		failures.push(`${path}: unreadable results (${error.message})`);
	}
}
if (failures.length > 0) console.log(`failed:\n${failures.join('\n')}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed === 0 ? 0 : 1;
