// The Deno binary of the `deno` dev dependency, and children started under it with the permission flags a user
// would give. The tests in test/system/deno-*.test.ts run the built package under it (run `npm run build` first).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Child, startNode } from './child.js';

const modules = fileURLToPath(new URL('../../node_modules/', import.meta.url));

/**
 * The executable itself, never the `node_modules/.bin/deno` wrapper that `npm ci --ignore-scripts` leaves (a node
 * script that runs Deno as its child: a signal sent to it would not reach Deno). The `deno` package's install
 * script links the binary of its platform package next to itself; without the script, the platform package has it.
 */
function findDeno(): string | undefined {
	const platform = process.platform === 'linux' ? `linux-${process.arch}-glibc` : `${process.platform}-${process.arch}`;
	const name = process.platform === 'win32' ? 'deno.exe' : 'deno';
	return [`${modules}deno/${name}`, `${modules}@deno/${platform}/${name}`].find((path) => existsSync(path));
}

export const deno = findDeno();

/** Why the Deno tests are skipped, or '' when they run. */
export const denoMissing = deno === undefined ? 'no Deno binary in node_modules (the `deno` dev dependency: `npm ci` installs it)' : '';

/** What a Deno child gets besides the test's environment: no update check, no colours in what the tests read. */
export const DENO_ENV = { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };

/** What an HTTP service needs: the network for its port, the environment for graceful-proc's own variables. */
export const SERVICE_FLAGS = ['--allow-net=127.0.0.1', '--allow-env'];

/** `deno run <flags> <script> <args>`, read line by line (see startNode). */
export function startDeno(script: string, args: string[], flags: string[]): Child {
	if (deno === undefined) throw new Error(denoMissing);
	return startNode(script, args, { node: deno, execArgv: ['run', ...flags], env: DENO_ENV });
}
