// graceful-proc's own environment variables and files where the runtime asks for permissions (Deno), in-process:
// a stand-in for Deno's permission API on globalThis. test/system/deno-core.test.ts checks the same under Deno.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENV_NOT_READABLE, envVar, processEnv } from '../../src/env.js';
import { granted } from '../../src/runtime-permissions.js';

const WARNED = Symbol.for('graceful-proc.env.warnedNotReadable');
const registry = globalThis as Record<PropertyKey, unknown>;

function denoGranting(state: (descriptor: { name: string; variable?: string; path?: string }) => string) {
	registry.Deno = { permissions: { querySync: (descriptor: { name: string }) => ({ state: state(descriptor) }) } };
}

afterEach(() => {
	delete registry.Deno;
	delete registry[WARNED];
	vi.unstubAllEnvs();
	vi.restoreAllMocks();
});

describe('without a permission API (Node, Bun), everything is granted and the environment is process.env itself', () => {
	it('reads the variable, and processEnv() is process.env', () => {
		vi.stubEnv('pm_id', '3');
		expect(granted({ name: 'env', variable: 'pm_id' })).toBe(true);
		expect(envVar('pm_id')).toBe('3');
		expect(processEnv()).toBe(process.env);
	});
});

describe('under Deno, a variable its flags do not grant is unset, said once with a code, never asked for', () => {
	it('takes an ungranted variable as unset and warns once, naming the variable and the flag', () => {
		vi.stubEnv('pm_id', '3');
		vi.stubEnv('PORT', '8080');
		denoGranting(({ variable }) => (variable === 'PORT' ? 'granted' : 'prompt'));
		const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
		expect(envVar('pm_id')).toBeUndefined();
		expect(processEnv().pm_id).toBeUndefined();
		expect(processEnv().PORT).toBe('8080');
		expect(warn).toHaveBeenCalledOnce();
		expect(warn.mock.calls[0]).toEqual([expect.stringMatching(/environment variable pm_id \(Deno: --allow-env\)/), { code: ENV_NOT_READABLE }]);
	});

	it('a read that throws anyway (a permission revoked meanwhile) is unset too', () => {
		vi.stubEnv('pm_id', '3');
		denoGranting(() => 'granted');
		vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
		const env = process.env;
		const throwing = new Proxy(env, {
			get(target, name) {
				if (name === 'pm_id') throw new Error('NotCapable');
				return Reflect.get(target, name);
			},
		});
		vi.spyOn(process, 'env', 'get').mockReturnValue(throwing);
		expect(envVar('pm_id')).toBeUndefined();
	});

	it('granted() is false, never a throw, when the permission API throws', () => {
		registry.Deno = {
			permissions: {
				querySync: () => {
					throw new TypeError('unknown descriptor');
				},
			},
		};
		expect(granted({ name: 'read', path: '/proc/1' })).toBe(false);
	});
});
