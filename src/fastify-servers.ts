// Every server a Fastify instance listens with, drained: `fastify.server`, and the servers Fastify adds for the
// other addresses of `localhost` (`::1` beside `127.0.0.1`), which only an onListen hook can see. For the Fastify
// plugin and for Nest on its Fastify platform.
import type net from 'node:net';
import { drain } from './http/drain.js';
import type { DrainOptions } from './http/options.js';
import type { WaitFunction } from './types.js';

/** What draining uses of a Fastify instance; a real `FastifyInstance` fits. */
export interface FastifyServers {
	readonly server: net.Server;
	addHook(name: 'onListen', hook: (...args: any[]) => unknown): unknown;
}

/**
 * Fastify keeps the servers it adds for the other addresses of `localhost` (`::1` beside `127.0.0.1`) in an
 * array under a private symbol, on the root instance; an encapsulated instance inherits it.
 */
function serverBindings(fastify: object): net.Server[] | undefined {
	for (let object: object | null = fastify; object !== null; object = Object.getPrototypeOf(object)) {
		const key = Object.getOwnPropertySymbols(object).find((symbol) => symbol.description === 'fastify.serverBindings');
		if (key !== undefined) {
			const value = (object as Record<symbol, unknown>)[key];
			return Array.isArray(value) ? (value as net.Server[]) : undefined;
		}
	}
	return undefined;
}

function warnNoBindings(reason: string): void {
	process.emitWarning(
		`graceful-proc: cannot see the servers Fastify adds beside fastify.server (${reason}); with listen({ host: 'localhost' }) the other address family is not drained. Give listen() an explicit host ('0.0.0.0', '::', '127.0.0.1').`,
		{ code: 'GRACEFUL_PROC_FASTIFY_SERVERS' },
	);
}

/**
 * Drains `fastify.server` (now, or when it listens: see drain()) and, once Fastify has bound every address, the
 * servers it added beside it. Returns the wait of `fastify.server`'s drain. A Fastify without the bindings symbol
 * or the onListen hook gets a warning (`GRACEFUL_PROC_FASTIFY_SERVERS`), and only `fastify.server` is drained.
 */
export function drainFastifyServers(fastify: FastifyServers, options: Omit<DrainOptions, 'name'>): WaitFunction {
	// fastify.server listens later, in listen(): drain() registers when it does.
	const wait = drain(fastify.server, options);
	const bindings = serverBindings(fastify);
	if (bindings === undefined) {
		warnNoBindings('no fastify.serverBindings');
		return wait;
	}
	try {
		// Fastify has bound every address when it runs onListen hooks, before listen() resolves.
		fastify.addHook('onListen', function drainAddedServers() {
			for (const server of bindings) if (server !== fastify.server) drain(server, options);
		});
	} catch (error) {
		warnNoBindings(`no onListen hook: ${(error as Error).message}`);
	}
	return wait;
}
