// systemd's notify protocol (READY=1, STOPPING=1, STATUS=, WATCHDOG=1, EXTEND_TIMEOUT_USEC=) without native code.
// Node cannot send a datagram on a unix socket, so each message goes through `systemd-notify`, one at a time and in
// order. Nothing happens, and nothing is loaded, unless the service manager set NOTIFY_SOCKET.
import type * as ChildProcesses from 'node:child_process';
import { createDebug } from '../debug.js';
import { processEnv } from '../env.js';

const log = createDebug('systemd');

/** The coded warning when `systemd-notify` cannot be run. */
export const SYSTEMD_NOTIFY_FAILED = 'GRACEFUL_PROC_SYSTEMD_NOTIFY';

export type NotifyFields = Readonly<Record<string, string | number>>;

/** Whether the service manager listens for notifications (the path form, or the abstract `@` form). */
export function notifySocket(env: Readonly<NodeJS.ProcessEnv> = processEnv()): string | undefined {
	const socket = env.NOTIFY_SOCKET;
	return socket !== undefined && (socket.startsWith('/') || socket.startsWith('@')) ? socket : undefined;
}

let queue: Promise<void> = Promise.resolve();
let warned = false;

function lines(fields: NotifyFields): string[] {
	// A value is one line: a newline inside would start another assignment.
	return Object.entries(fields).map(([key, value]) => `${key}=${String(value).replace(/\s*\n\s*/g, ' ')}`);
}

function runNotify(args: string[]): Promise<void> {
	const { spawn } = globalThis.process.getBuiltinModule('node:child_process') as typeof ChildProcesses;
	return new Promise((resolve) => {
		let child: ChildProcesses.ChildProcess;
		try {
			// Synchronous (the default of systemd 246 and later): systemd-notify waits until the manager has read the
			// message, so the manager can still tell which unit sent it. Unref'd: it never holds this process up.
			child = spawn('systemd-notify', args, { stdio: ['ignore', 'ignore', 'pipe'] });
		} catch (error) {
			failed(args, error);
			resolve();
			return;
		}
		let stderr = '';
		child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
		child.on('error', (error) => {
			failed(args, error);
			resolve();
		});
		child.on('close', (code) => {
			if (code !== 0 && code !== null) log('systemd-notify %s: exit %d %s', args.join(' '), code, stderr.trim());
			resolve();
		});
		child.unref();
		(child.stderr as { unref?: () => void } | null)?.unref?.();
	});
}

function failed(args: string[], error: unknown): void {
	log('systemd-notify %s failed: %O', args.join(' '), error);
	if (warned) return;
	warned = true;
	process.emitWarning(
		`graceful-proc: NOTIFY_SOCKET is set but systemd-notify could not be run (${(error as Error)?.message ?? String(error)}); ` +
			'systemd will not hear READY=1 or STOPPING=1. Install systemd (it provides systemd-notify) in the image, or unset NOTIFY_SOCKET.',
		{ code: SYSTEMD_NOTIFY_FAILED },
	);
}

/**
 * Send a notification whose order does not matter (WATCHDOG=1) at once, beside the queue: a ping waiting behind
 * another message would be late, and a message waiting behind a ping would be too (STOPPING=1 lost in a process
 * that exits first). Resolves once `systemd-notify` is done; never rejects. Does nothing without NOTIFY_SOCKET.
 */
export function sdNotifyUnordered(fields: NotifyFields, env: Readonly<NodeJS.ProcessEnv> = processEnv()): Promise<void> {
	if (notifySocket(env) === undefined) return Promise.resolve();
	const args = lines(fields);
	log('notify %s', args.join(' '));
	return runNotify(args);
}

/**
 * Send one notification (`{ READY: 1, STATUS: 'serving' }`) to the service manager, after the ones sent before.
 * Resolves once `systemd-notify` is done; never rejects. Does nothing without NOTIFY_SOCKET.
 */
export function sdNotify(fields: NotifyFields, env: Readonly<NodeJS.ProcessEnv> = processEnv()): Promise<void> {
	if (notifySocket(env) === undefined) return Promise.resolve();
	const args = lines(fields);
	log('notify %s', args.join(' '));
	queue = queue.then(() => runNotify(args));
	return queue;
}
