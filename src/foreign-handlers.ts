/**
 * Other handlers on the signals that start the sequence (a framework's `enableShutdownHooks()`, an OpenTelemetry
 * `register`, an app's own `process.on('SIGTERM')`): found when our handlers are installed and at the trigger,
 * named once in a coded warning and listed in the report. They are only read, never changed or removed.
 */
import type { ForeignHandler, ProcessLike } from './types.js';
import { expected } from './validate.js';

/** The warning's code, for `process.on('warning')` filters and for users who search for it. */
export const FOREIGN_HANDLER = 'GRACEFUL_PROC_FOREIGN_HANDLER';

/**
 * Marks the handlers a proc puts on the process. Registered, so that every copy of the package (ESM and
 * CommonJS builds, two versions) knows the others' handlers as its own kind, not as foreign ones.
 */
const kOurs = Symbol.for('graceful-proc.handler');

export function markOurs<T extends object>(handler: T): T {
	Object.defineProperty(handler, kOurs, { value: true });
	return handler;
}

/** `'warn'` (the default), `'ignore'` (listed in the report, never warned about), or names that are expected. */
export type ForeignHandlersOption = 'warn' | 'ignore' | readonly string[];

export function assertForeignHandlersOption(argument: string, value: unknown): asserts value is ForeignHandlersOption {
	if (value === 'warn' || value === 'ignore') return;
	if (Array.isArray(value)) {
		value.forEach((name: unknown, index) => {
			if (typeof name !== 'string' || name === '') throw new TypeError(expected(`${argument}[${index}]`, 'a handler name (a non-empty string)', name));
		});
		return;
	}
	throw new TypeError(expected(argument, "'warn', 'ignore' or an array of handler names", value));
}

/** A function's name as a stack trace would show it; an arrow or a bound anonymous function has none. */
function nameOf(fn: Function): string {
	let name = '';
	try {
		name = typeof fn.name === 'string' ? fn.name.replace(/^bound /, '') : '';
	} catch {}
	return name === '' ? 'anonymous' : name;
}

/**
 * The handlers on `signals` that no copy of graceful-proc put there, one entry per function (a function on
 * several signals is one entry naming them all). Where the process cannot list its listeners, none.
 */
export function findForeignHandlers(process: ProcessLike, signals: readonly string[]): Array<{ fn: Function; handler: ForeignHandler }> {
	const listeners = (process as { listeners?: (event: string) => Function[] }).listeners;
	if (typeof listeners !== 'function') return [];
	const found = new Map<Function, ForeignHandler>();
	for (const signal of signals) {
		let fns: Function[];
		try {
			fns = listeners.call(process, signal);
		} catch {
			continue;
		}
		for (const fn of fns) {
			if (typeof fn !== 'function' || (fn as { [kOurs]?: boolean })[kOurs] === true) continue;
			const seen = found.get(fn);
			if (seen) seen.signals.push(signal);
			// Node keeps no record of where a listener was added, and a function's source location is only
			// readable through the inspector: the name is what can honestly be given.
			else found.set(fn, { name: nameOf(fn), signals: [signal] });
		}
	}
	return [...found].map(([fn, handler]) => ({ fn, handler }));
}

/** The warning for handlers not named before: what they are likely to do, and how to hand their work over. */
export function foreignHandlersMessage(handlers: readonly ForeignHandler[]): string {
	const list = handlers.map((h) => `\`${h.name}\` (${h.signals.join(', ')})`).join(', ');
	const one = handlers.length === 1;
	return (
		`graceful-proc: ${one ? 'another handler listens' : `${handlers.length} other handlers listen`} on the shutdown signals: ${list}. ` +
		`${one ? 'It runs' : 'They run'} beside the shutdown sequence, not inside it, and may close the server before the drain ` +
		`or exit the process before the listeners finish (a framework's enableShutdownHooks(), an SDK's register). ` +
		`Move the work into a listener instead (addShutdownListener(() => app.close()); a telemetry or log flush as the last step, addFinalListener(() => sdk.shutdown())) ` +
		`and remove the handler, or, to keep both, configure({ foreignHandlers: [${handlers.map((h) => JSON.stringify(h.name)).join(', ')}] }) ` +
		`or configure({ foreignHandlers: 'ignore' }).`
	);
}

/**
 * The handlers already warned about, per process, shared by every proc and every copy of the package: each
 * function is named at most once, whenever it was first seen (at installation, or at the trigger if it came later).
 */
const kWarned = Symbol.for('graceful-proc.foreignHandlersWarned');

function warnedOn(process: ProcessLike): WeakSet<Function> {
	const global = globalThis as { [kWarned]?: WeakMap<object, WeakSet<Function>> };
	const all = (global[kWarned] ??= new WeakMap());
	let warned = all.get(process);
	if (warned === undefined) all.set(process, (warned = new WeakSet()));
	return warned;
}

/**
 * What a proc asks at installation and at the trigger: looks now, warns about the handlers not warned about
 * before (unless `option` silences them), and returns every foreign handler found.
 */
export function checkForeignHandlers(process: ProcessLike, signals: readonly string[], option: ForeignHandlersOption): ForeignHandler[] {
	const found = findForeignHandlers(process, signals);
	if (found.length === 0) return [];
	if (option !== 'ignore') {
		const warned = warnedOn(process);
		const fresh = found.filter(({ fn, handler }) => !warned.has(fn) && !(Array.isArray(option) && option.includes(handler.name)));
		for (const { fn } of fresh) warned.add(fn);
		if (fresh.length > 0) emitForeignWarning(process, foreignHandlersMessage(fresh.map(({ handler }) => handler)));
	}
	return found.map(({ handler }) => handler);
}

function emitForeignWarning(process: ProcessLike, message: string): void {
	const emit = (process as { emitWarning?: (message: string, options: { code: string }) => void }).emitWarning;
	try {
		if (typeof emit === 'function') emit.call(process, message, { code: FOREIGN_HANDLER });
	} catch {}
}
