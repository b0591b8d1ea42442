/**
 * Errors that a public function throws at its call (bad arguments, a call at the wrong time) point at the
 * caller's line: their stack starts at the caller's frame, and Node prints no source line of ours above them.
 */

/** The folder every file of this package is in (dist/, or src/ when run from source), as a URL and as a path. */
let ownFolder: { url: string; path: string } | undefined;

function folder(): { url: string; path: string } {
	if (ownFolder === undefined) {
		// This file may be bundled into dist/index.js or into a chunk under dist/chunks/.
		const url = new URL(/\/chunks\/[^/]*$/.test(new URL(import.meta.url).pathname) ? '..' : '.', import.meta.url);
		let path = url.href;
		try {
			path = process.getBuiltinModule('node:url').fileURLToPath(url);
		} catch {
			// Only the URL form can be matched.
		}
		ownFolder = { url: url.href, path };
	}
	return ownFolder;
}

/** Whether the innermost frame of the error's stack is in this package: an error we threw, not one from user code. */
function thrownByUs(error: Error): boolean {
	let stack: unknown;
	try {
		stack = error.stack;
	} catch {
		return false;
	}
	if (typeof stack !== 'string') return false;
	const frame = /^\s+at .*$/m.exec(stack)?.[0];
	if (frame === undefined) return false;
	const { url, path } = folder();
	return frame.includes(url) || frame.includes(`(${path}`) || frame.includes(` ${path}`);
}

/** Points an error we threw at the call of `entry`; anything else is left as it is. */
function pointAtCaller(error: unknown, entry: Function): unknown {
	if (typeof Error.captureStackTrace === 'function' && error instanceof Error && thrownByUs(error)) {
		try {
			Error.captureStackTrace(error, entry);
		} catch {
			// A frozen error keeps the stack it has.
		}
	}
	return error;
}

/** `fn`, with what it throws pointed at its caller. Name and length are `fn`'s. */
export function atCallSite<F extends (...args: never[]) => unknown>(fn: F): F {
	const entry = function (this: unknown): unknown {
		try {
			// `arguments`, not a rest parameter: V8 passes it on without building an array.
			return fn.apply(this, arguments as unknown as never[]);
		} catch (error) {
			// Node prints the source line an uncaught error was thrown from, unless that line holds the marker
			// node-do-not-add-exception-line; the build writes it into this line of dist/, where comments are gone.
			throw pointAtCaller(error, entry);
		}
	};
	Object.defineProperties(entry, { name: { value: fn.name }, length: { value: fn.length } });
	return entry as F;
}

/** Makes the named methods of a class throw at their caller, as atCallSite() does for a function. */
export function methodsAtCallSite<T extends object>(prototype: T, names: readonly (keyof T & string)[]): void {
	for (const name of names) {
		const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
		if (typeof descriptor?.value !== 'function') throw new TypeError(`${name} is not a method of ${prototype.constructor.name}`);
		Object.defineProperty(prototype, name, { ...descriptor, value: atCallSite(descriptor.value) });
	}
}
