import { describe, expect, it } from 'vitest';
import { PM2_DEFAULT_KILL_TIMEOUT, pm2KillTimeout } from '../../src/pm2-env.js';

// What PM2 7 puts in an app's environment (seen in test/system/pm2-reload.test.ts with the real pm2).
const app = { pm_id: '0', pm_exec_path: '/srv/app/server.js', PM2_HOME: '/home/app/.pm2', exec_mode: 'cluster_mode' };

describe('pm2KillTimeout()', () => {
	it('is undefined outside PM2', () => {
		expect(pm2KillTimeout({})).toBeUndefined();
		expect(pm2KillTimeout({ kill_timeout: '3000' })).toBeUndefined();
		// pm_id alone is not enough: another tool could use the name.
		expect(pm2KillTimeout({ pm_id: '1' })).toBeUndefined();
	});

	it("is the app's kill_timeout when it sets one", () => {
		expect(pm2KillTimeout({ ...app, kill_timeout: '8000' })).toBe(8000);
		expect(pm2KillTimeout({ ...app, kill_timeout: '0' })).toBe(0);
	});

	it("is the daemon's PM2_KILL_TIMEOUT, else PM2's default of 1,600 ms, when the app sets none", () => {
		expect(pm2KillTimeout({ ...app, PM2_KILL_TIMEOUT: '4000' })).toBe(4000);
		expect(pm2KillTimeout(app)).toBe(1600);
		expect(PM2_DEFAULT_KILL_TIMEOUT).toBe(1600);
	});

	it('skips values that are not a time', () => {
		for (const bad of ['', ' ', 'soon', '-1', 'NaN', 'Infinity', String(2 ** 31)]) {
			expect(pm2KillTimeout({ ...app, kill_timeout: bad }), bad).toBe(1600);
		}
	});

	it('reads process.env by default', () => {
		expect(pm2KillTimeout()).toBe(pm2KillTimeout(process.env));
	});
});
