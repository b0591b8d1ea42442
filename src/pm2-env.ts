/**
 * What PM2 tells an app through its environment: how long after its stop signal it SIGKILLs the app, which the
 * core's unset times fit inside.
 */
import { processEnv } from './env.js';

/** PM2's own default, used when neither the app nor the daemon's environment sets one. */
export const PM2_DEFAULT_KILL_TIMEOUT = 1600;

/**
 * Under PM2: how many milliseconds PM2 waits after its stop signal (SIGINT, or the 'shutdown' message with
 * `shutdown_with_message`) before it SIGKILLs the app; `undefined` when the process is not a PM2 app.
 *
 * PM2 passes an app's settings in its environment: `pm_id` is always there, `kill_timeout` only when the app
 * sets one (ecosystem file or `--kill-timeout`). Otherwise the daemon's own default applies: `PM2_KILL_TIMEOUT`
 * from the environment the daemon was started in (which the app inherits), else 1,600 ms.
 */
export function pm2KillTimeout(env: Readonly<Record<string, string | undefined>> = processEnv()): number | undefined {
	if (env.pm_id === undefined || (env.pm_exec_path === undefined && env.PM2_HOME === undefined)) return undefined;
	return parse(env.kill_timeout) ?? parse(env.PM2_KILL_TIMEOUT) ?? PM2_DEFAULT_KILL_TIMEOUT;
}

function parse(value: string | undefined): number | undefined {
	if (value === undefined || value.trim() === '') return undefined;
	const ms = Number(value);
	// PM2 itself hands the string to setTimeout: anything that is not a time there is not one here either.
	return Number.isFinite(ms) && ms >= 0 && ms <= 2 ** 31 - 1 ? ms : undefined;
}
