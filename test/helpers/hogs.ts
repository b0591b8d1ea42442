import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Busy CPU loops beside a test, as on a shared CI runner or a laptop doing other work: `n` node processes that
 * spin until `stop()` (which ends them by their pids).
 */
export function startHogs(n: number): { stop(): void } {
	const hogs: ChildProcess[] = [];
	for (let i = 0; i < n; i++) hogs.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
	return {
		stop() {
			for (const hog of hogs.splice(0)) hog.kill('SIGKILL');
		},
	};
}
