// Listening to a server event only while the application does too: for events where a listener of ours alone
// would change what node does (upgrades, `Expect:` requests).
import type net from 'node:net';

/**
 * Listens to `events` (prepended) only while the application does too: listening to one of these alone would
 * change what node does with such requests. 'upgrade' and 'connect': a socket taken over by such a listener
 * (WebSockets) is no longer HTTP; its owner closes it (WebSockets with 1001 Going Away), and only the deadline
 * destroys it. 'checkContinue' and 'checkExpectation': without a listener, node answers the expectation itself
 * and emits 'request'. Returns what undoes it.
 */
export function listenAlongside(server: net.Server, events: readonly string[], ours: (...args: any[]) => void): () => void {
	const attached = new Set<string>();
	const attach = (event: string) => {
		attached.add(event);
		server.prependListener(event, ours);
	};
	const onNew = (event: string | symbol, listener: unknown) => {
		if (typeof event === 'string' && events.includes(event) && listener !== ours && !attached.has(event)) attach(event);
	};
	const onRemove = (event: string | symbol, listener: unknown) => {
		if (typeof event !== 'string' || !attached.has(event) || listener === ours) return;
		if (server.listenerCount(event) === 1) {
			attached.delete(event);
			server.removeListener(event, ours);
		}
	};
	for (const event of events) if (server.listenerCount(event) > 0) attach(event);
	server.on('newListener', onNew);
	server.on('removeListener', onRemove);
	return () => {
		server.removeListener('newListener', onNew);
		server.removeListener('removeListener', onRemove);
		for (const event of attached) server.removeListener(event, ours);
	};
}
