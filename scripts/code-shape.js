// The shape of src/ against the project's rules: each file opens with a module header, no function is longer than
// 60 lines, no class longer than 300. Prints what breaks a rule and exits 1 if anything does; test/core/code-shape
// holds the fast loop to it.
//   node scripts/code-shape.js            what breaks a rule
//   node scripts/code-shape.js --list 40  also every function of 40 lines or more, longest first
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_FUNCTION_LINES = 60;
export const MAX_CLASS_LINES = 300;
/**
 * Functions allowed to be longer, with the reason. The watchdog thread's body is sent to a worker as source text,
 * so it cannot call anything defined outside it.
 */
export const LONG_FUNCTION_ALLOWED = new Map([['src/watchdog/thread.ts:watchdogThread', 'runs in the worker as source text: self-contained']]);

const root = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir) {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) return sourceFiles(path);
		return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
	});
}

function nameOf(node, source) {
	if (node.name) return node.name.getText(source);
	if (ts.isConstructorDeclaration(node)) return 'constructor';
	const parent = node.parent;
	if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertyAssignment(parent))) return parent.name.getText(source);
	return '(anonymous)';
}

function linesOf(node, source) {
	const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
	const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
	return end - start + 1;
}

/** What one file holds: its header (the comment before the first statement), its functions and its classes. */
export function shapeOf(path) {
	const text = readFileSync(path, 'utf8');
	const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
	const file = relative(root, path).split('\\').join('/');
	const first = source.statements[0];
	const comments = first ? (ts.getLeadingCommentRanges(text, first.getFullStart()) ?? []) : [];
	const header = comments.length > 0 ? text.slice(comments[0].pos, comments.at(-1).end) : '';
	const functions = [];
	const classes = [];
	const visit = (node) => {
		if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) classes.push({ file, name: nameOf(node, source), lines: linesOf(node, source) });
		if (ts.isFunctionLike(node) && 'body' in node && node.body) {
			const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
			functions.push({ file, line, name: nameOf(node, source), lines: linesOf(node, source) });
		}
		ts.forEachChild(node, visit);
	};
	visit(source);
	return { file, header, headerLines: header === '' ? 0 : header.split('\n').length, functions, classes };
}

export function checkShape(dir = join(root, 'src')) {
	const problems = [];
	const functions = [];
	for (const path of sourceFiles(dir).sort()) {
		const shape = shapeOf(path);
		functions.push(...shape.functions);
		if (shape.headerLines < 2) problems.push(`${shape.file}: no module header (two or three lines on what the file is for)`);
		for (const c of shape.classes) if (c.lines > MAX_CLASS_LINES) problems.push(`${c.file}: class ${c.name} is ${c.lines} lines (at most about ${MAX_CLASS_LINES})`);
		for (const f of shape.functions) {
			if (f.lines > MAX_FUNCTION_LINES && !LONG_FUNCTION_ALLOWED.has(`${f.file}:${f.name}`)) problems.push(`${f.file}:${f.line}: function ${f.name} is ${f.lines} lines (at most about ${MAX_FUNCTION_LINES})`);
		}
	}
	return { problems, functions };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	const { problems, functions } = checkShape();
	const listAt = process.argv.indexOf('--list');
	if (listAt !== -1) {
		const min = Number(process.argv[listAt + 1] ?? 40);
		for (const f of functions.filter((f) => f.lines >= min).sort((a, b) => b.lines - a.lines)) console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.line} ${f.name}`);
	}
	for (const problem of problems) console.log(problem);
	process.exitCode = problems.length > 0 ? 1 : 0;
}
