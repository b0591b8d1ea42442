// systemd's socket activation (sd_listen_fds): the listening sockets systemd opened and passed to this process,
// from fd 3 on, named by LISTEN_FDNAMES. systemd keeps its own copy, so across a restart new connections wait in
// the backlog instead of being refused.
import { processEnv } from '../env.js';
import { expected } from '../validate.js';

/** The first passed descriptor (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

export interface InheritedSocket {
	readonly fd: number;
	/** Its name from LISTEN_FDNAMES (the .socket unit's FileDescriptorName=, by default the unit's name). */
	readonly name: string | undefined;
}

/** The sockets systemd passed to this process: none unless LISTEN_PID is this process. */
export function inheritedSockets(env: Readonly<NodeJS.ProcessEnv> = processEnv(), pid = process.pid): InheritedSocket[] {
	if (env.LISTEN_PID === undefined || Number(env.LISTEN_PID) !== pid) return [];
	const count = Number(env.LISTEN_FDS);
	if (!Number.isSafeInteger(count) || count <= 0) return [];
	const names = env.LISTEN_FDNAMES?.split(':') ?? [];
	return Array.from({ length: count }, (_, i) => ({ fd: LISTEN_FDS_START + i, name: names[i] || undefined }));
}

/**
 * The passed socket serve() listens on: the one named `name`, or the only one. Undefined when systemd passed none
 * (then serve() listens on its port). Several and no name, or a name not passed, is an error naming what was.
 */
export function pickInheritedSocket(name: string | undefined, sockets = inheritedSockets()): InheritedSocket | undefined {
	if (sockets.length === 0) return undefined;
	if (name === undefined) {
		if (sockets.length === 1) return sockets[0];
		throw new Error(
			expected('options.socketName', `one of the sockets systemd passed (${sockets.map((s) => s.name ?? `fd ${s.fd}`).join(', ')})`, name),
		);
	}
	const found = sockets.find((socket) => socket.name === name);
	if (found) return found;
	throw new Error(expected('options.socketName', `one of the sockets systemd passed (${sockets.map((s) => s.name ?? `fd ${s.fd}`).join(', ')})`, name));
}
