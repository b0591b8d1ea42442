/**
 * Watching for a child to say it is ready: its IPC message `'ready'`, a readiness file that appears (or
 * changes) after the spawn, or a URL that answers 2xx. Polls are unref'd: the child keeps the parent alive.
 */
import type { ChildProcess } from 'node:child_process';
import { type BigIntStats, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type * as Https from 'node:https';
import { nodeHttp } from '../http/node-http.js';
import type { Readiness } from './options.js';

/** How often a readiness file is looked at. */
const FILE_POLL_MS = 50;
/** How often a readiness URL is asked, and how long one answer is waited for at most. */
const URL_POLL_MS = 100;
const URL_ANSWER_MS = 1000;

/** The message a Node child sends, as under PM2's `wait_ready`: `process.send('ready')`. */
export const READY_MESSAGE = 'ready';

/** What a readiness file was before the spawn: a file the old child left there (as it was) is not a new child's. */
export type FileBaseline = string | undefined;

function identity(stats: BigIntStats): string {
	// ctime changes with any write, touch, rename over or chmod; the inode with a file created anew.
	return `${stats.ino}:${stats.ctimeNs}:${stats.mtimeNs}`;
}

/** Taken just before the spawn, so that nothing the new child writes can be mistaken for the baseline. */
export function fileBaseline(readiness: Readiness | undefined): FileBaseline {
	if (readiness?.kind !== 'file') return undefined;
	try {
		return identity(statSync(readiness.path, { bigint: true }));
	} catch {
		return undefined;
	}
}

/** Calls `onReady` once when `child` is ready; returns the function that stops watching. */
export function watchReadiness(child: ChildProcess, readiness: Readiness, baseline: FileBaseline, onReady: () => void): () => void {
	let done = false;
	const ready = (): void => {
		if (done) return;
		done = true;
		stop();
		onReady();
	};
	const stop =
		readiness.kind === 'message'
			? watchMessage(child, ready)
			: readiness.kind === 'file'
				? poll(FILE_POLL_MS, () => fileChanged(readiness.path, baseline), ready)
				: poll(URL_POLL_MS, (signal) => answers2xx(readiness.url, signal), ready);
	return () => {
		done = true;
		stop();
	};
}

function watchMessage(child: ChildProcess, ready: () => void): () => void {
	const onMessage = (message: unknown): void => {
		if (message === READY_MESSAGE) ready();
	};
	child.on('message', onMessage);
	return () => child.off('message', onMessage);
}

/** Asks `check` at once and then every `everyMs`, never two at a time, until it says yes or the poll is stopped. */
function poll(everyMs: number, check: (signal: AbortSignal) => Promise<boolean>, ready: () => void): () => void {
	const abort = new AbortController();
	let timer: ReturnType<typeof setTimeout> | undefined;
	const round = (): void => {
		check(abort.signal).then(
			(yes) => {
				if (abort.signal.aborted) return;
				if (yes) ready();
				else {
					timer = setTimeout(round, everyMs);
					timer.unref?.();
				}
			},
			() => {},
		);
	};
	round();
	return () => {
		abort.abort();
		clearTimeout(timer);
	};
}

async function fileChanged(path: string, baseline: FileBaseline): Promise<boolean> {
	try {
		return identity(await stat(path, { bigint: true })) !== baseline;
	} catch {
		return false;
	}
}

/** One GET: true for a 2xx answer; false for any other answer, a refused connection or no answer in time. */
function answers2xx(url: URL, signal: AbortSignal): Promise<boolean> {
	return new Promise((resolve) => {
		const request = (url.protocol === 'https:' ? (globalThis.process.getBuiltinModule('node:https') as typeof Https).request : nodeHttp().request)(url, {
			method: 'GET',
			agent: false,
			signal,
			timeout: URL_ANSWER_MS,
			headers: { connection: 'close' },
		});
		request.on('socket', (socket) => socket.unref());
		request.on('response', (response) => {
			response.resume();
			resolve(response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300);
		});
		request.on('timeout', () => request.destroy());
		request.on('error', () => resolve(false));
		request.on('close', () => resolve(false));
		request.end();
	});
}
