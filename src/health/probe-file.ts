/**
 * The bin's file probe (`graceful-proc probe --file`): healthy while the heartbeat file a ticker touches after
 * every good round is recent enough. Only `node:fs`, so that a probe run every few seconds stays light.
 */
import { stat } from 'node:fs/promises';
import type { ProbeResult } from './probe-url.js';
import { formatDuration } from './parse-duration.js';

/** Ok when `path` was modified at most `maxAge` ms ago: the heartbeat a ticker touches after every good round. */
export async function probeFile(path: string, maxAge: number): Promise<ProbeResult> {
	let mtime: number;
	try {
		mtime = (await stat(path)).mtimeMs;
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		return { ok: false, message: code === 'ENOENT' ? `${path} does not exist (no good round yet?)` : `cannot read ${path}: ${(error as Error).message}` };
	}
	// A file touched in the future (a clock step) counts as fresh rather than failing a healthy worker.
	const age = Math.max(0, Date.now() - mtime);
	return age <= maxAge
		? { ok: true, message: `${path} touched ${formatDuration(age)} ago` }
		: { ok: false, message: `${path} is stale: touched ${formatDuration(age)} ago, more than ${formatDuration(maxAge)}` };
}
