/**
 * Whether this process was started by nodemon, which restarts an app by sending it SIGUSR2 (its default
 * `signal`) and waiting for it to exit. nodemon marks its children with nothing of their own, so we look at
 * what started us: `npm run dev` with a nodemon script leaves it in `npm_lifecycle_script`, and on Linux the
 * parent's command line (or the grandparent's, when nodemon ran the app through `sh -c`) names nodemon.
 * Asked once, when the first listener installs the handlers; never at import.
 */
export function underNodemon(): boolean {
	const env = globalThis.process.env;
	if (/(^|[\s/])nodemon(\s|$)/.test(env.npm_lifecycle_script ?? '')) return true;
	if (globalThis.process.platform !== 'linux') return false;
	try {
		const fs = globalThis.process.getBuiltinModule('node:fs') as typeof import('node:fs');
		let pid = globalThis.process.ppid;
		for (let depth = 0; depth < 2 && pid > 1; depth += 1) {
			const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
			if (argv.slice(0, 3).some((arg) => /(^|\/)nodemon(\.js)?$/.test(arg))) return true;
			if (!/(^|\/)(sh|bash|dash)$/.test(argv[0] ?? '')) return false;
			// `/proc/<pid>/stat` is `pid (comm) state ppid ...`; comm may hold spaces, so read after the last ')'.
			const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
			pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
		}
	} catch {}
	return false;
}
