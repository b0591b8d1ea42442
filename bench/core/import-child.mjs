// Imports one module and prints how long that took inside the process, in ms.
//   node import-child.mjs <specifier | none> [register]
// `none` imports nothing: the baseline for the parent's wall-clock measurement of the whole process.
// `register` then also registers one listener the way the library is used, and times that call: the first
// registration is where some libraries pay for what they load lazily or install on the process.
const [specifier, register] = process.argv.slice(2);

// terminus decorates a server; creating one is the user's cost, not the library's, so it happens first.
const server = register && specifier === '@godaddy/terminus' ? (await import('node:http')).createServer() : undefined;

let start = performance.now();
const library = specifier === 'none' ? undefined : await import(specifier);
const ms = performance.now() - start;

let registerMs;
if (register) {
	start = performance.now();
	switch (specifier) {
		case 'graceful-proc':
			library.addWrapUpListener(() => {});
			break;
		case 'close-with-grace':
			library.default({ logger: false }, () => {});
			break;
		case 'exit-hook':
			library.asyncExitHook(() => {}, { wait: 1000 });
			break;
		case 'async-exit-hook':
			library.default(() => {});
			break;
		case '@godaddy/terminus':
			library.createTerminus(server, { onSignal: async () => {} });
			break;
		default:
			throw new Error(`no registration known for ${specifier}`);
	}
	registerMs = performance.now() - start;
}
process.stdout.write(`${JSON.stringify({ ms, registerMs })}\n`);
// The hooks just registered must not run (close-with-grace and exit-hook act on 'beforeExit').
if (register) process.exit(0);
