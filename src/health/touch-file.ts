/**
 * Touching a file without a child process: its mtime set to now, created empty when missing. The ticker's
 * heartbeat after every good round.
 */
import { open } from 'node:fs/promises';

/** Sets a file's mtime to now, creating it (empty) when missing; what `touch` does, without a child process. */
export async function touchFile(path: string): Promise<void> {
	// 'a' creates a missing file and never truncates an existing one.
	const handle = await open(path, 'a');
	try {
		const now = new Date();
		await handle.utimes(now, now);
	} finally {
		await handle.close();
	}
}
