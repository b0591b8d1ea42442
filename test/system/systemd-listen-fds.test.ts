// Which sockets systemd passed (sd_listen_fds): only for the process LISTEN_PID names, picked by name when several.
import { describe, expect, it } from 'vitest';
import { inheritedSockets, pickInheritedSocket } from '../../src/systemd/listen-fds.js';

describe('inheritedSockets / pickInheritedSocket', () => {
	it('takes none when LISTEN_PID is another process, or unset', () => {
		expect(inheritedSockets({ LISTEN_PID: '1', LISTEN_FDS: '1' }, 4242)).toEqual([]);
		expect(inheritedSockets({ LISTEN_FDS: '1' }, 4242)).toEqual([]);
		expect(pickInheritedSocket(undefined, [])).toBeUndefined();
	});

	it('numbers them from fd 3, with their names', () => {
		const sockets = inheritedSockets({ LISTEN_PID: '4242', LISTEN_FDS: '2', LISTEN_FDNAMES: 'http:admin' }, 4242);
		expect(sockets).toEqual([
			{ fd: 3, name: 'http' },
			{ fd: 4, name: 'admin' },
		]);
		expect(pickInheritedSocket('admin', sockets)).toEqual({ fd: 4, name: 'admin' });
	});

	it('refuses a missing name, or several sockets and no name, naming what was passed', () => {
		const sockets = inheritedSockets({ LISTEN_PID: '7', LISTEN_FDS: '2', LISTEN_FDNAMES: 'http:admin' }, 7);
		expect(() => pickInheritedSocket(undefined, sockets)).toThrow(/options\.socketName.*http, admin.*undefined/);
		expect(() => pickInheritedSocket('metrics', sockets)).toThrow(/options\.socketName.*http, admin.*metrics/);
		expect(pickInheritedSocket(undefined, [{ fd: 3, name: undefined }])).toEqual({ fd: 3, name: undefined });
	});
});
