import { lstat, rm, writeFile } from 'node:fs/promises';

/**
 * The readiness switch worked from outside the process: while the file exists, the ticker answers `/readyz`
 * with 503. Only `node:fs` here, so that the bin (`graceful-proc ready off|on`) stays light.
 */

/** Whether the file exists now; `undefined` when that cannot be told (a permission error), so the caller keeps what it knew. */
export async function notReadyFileExists(path: string): Promise<boolean | undefined> {
	try {
		await lstat(path);
		return true;
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		return code === 'ENOENT' || code === 'ENOTDIR' ? false : undefined;
	}
}

/** `graceful-proc ready off`: creates the file (or leaves it as it is), saying who and when inside, for whoever finds it. */
export async function takeOut(path: string): Promise<void> {
	await writeFile(path, `taken out of rotation by \`graceful-proc ready off\` at ${new Date().toISOString()}\n`);
}

/** `graceful-proc ready on`: removes the file; resolves to false when it was not there (nothing to do). */
export async function putBack(path: string): Promise<boolean> {
	const existed = (await notReadyFileExists(path)) !== false;
	await rm(path, { force: true });
	return existed;
}
