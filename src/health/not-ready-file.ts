/**
 * The readiness switch worked from outside the process: while the file exists, the ticker answers `/readyz`
 * with 503. Only `node:fs` here, so that the bin (`graceful-proc ready off|on`) stays light.
 */
import { lstat, rm, writeFile } from 'node:fs/promises';

/**
 * Whether the file exists now; the error when that cannot be told (a permission error: under Deno, no
 * `--allow-read` for it), so that the caller keeps what it knew.
 */
export async function notReadyFileExists(path: string): Promise<boolean | Error> {
	try {
		await lstat(path);
		return true;
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === 'ENOENT' || code === 'ENOTDIR') return false;
		return error instanceof Error ? error : new Error(String(error));
	}
}

/** What the ticker says once when it cannot look at its `notReadyFile`: the switch would silently do nothing. */
export function cannotTellMessage(path: string, error: Error): string {
	return `graceful-proc: cannot tell whether notReadyFile ${path} exists (${error.message}); \`graceful-proc ready off\` cannot take this instance out of rotation`;
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
