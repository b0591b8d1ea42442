/**
 * The HTTP drains running in this process, as the systemd STATUS lines see them: what each still holds (requests,
 * connections), and word of their progress (a request finished, a connection closed). Shared by every copy of the
 * package through a registered symbol: the core, which reports, and graceful-proc/http, which drains, are separate
 * builds. Made by the first drain that starts, never on import.
 */

/** One drain in progress. */
export interface DrainInProgress {
	readonly name: string;
	/** Requests whose responses have not finished, and connections still open. Read at most a few times a second. */
	counts(): { requests: number; connections: number };
}

const KEY = Symbol.for('graceful-proc.drainsInProgress');

interface Slot {
	readonly version: 1;
	readonly drains: Set<DrainInProgress>;
	/** Told of every step a drain makes. */
	readonly watchers: Set<() => void>;
}

function slot(create: boolean): Slot | undefined {
	const registry = globalThis as unknown as Record<symbol, Slot | undefined>;
	let found = registry[KEY];
	if (found === undefined && create) {
		found = { version: 1, drains: new Set(), watchers: new Set() };
		Object.defineProperty(registry, KEY, { value: found, enumerable: false, configurable: false, writable: false });
	}
	return found;
}

/** A drain started. */
export function addDrainInProgress(drain: DrainInProgress): void {
	slot(true)!.drains.add(drain);
}

/** A drain ended (its listener settles next, which the sequence's observers hear of). */
export function removeDrainInProgress(drain: DrainInProgress): void {
	slot(false)?.drains.delete(drain);
}

/** A drain made a step: a request finished or a connection closed. Costs a lookup when nobody watches. */
export function drainProgressed(): void {
	const watchers = slot(false)?.watchers;
	if (watchers === undefined || watchers.size === 0) return;
	for (const watcher of watchers) {
		try {
			watcher();
		} catch {}
	}
}

/** Hears of every step of every drain; returns the remover. */
export function watchDrains(watcher: () => void): () => void {
	const { watchers } = slot(true)!;
	watchers.add(watcher);
	return () => void watchers.delete(watcher);
}

/** What the drains in progress still hold, summed. */
export function drainsInProgress(): { drains: number; requests: number; connections: number } {
	let requests = 0;
	let connections = 0;
	const drains = slot(false)?.drains;
	if (drains === undefined) return { drains: 0, requests, connections };
	for (const drain of drains) {
		try {
			const counts = drain.counts();
			requests += counts.requests;
			connections += counts.connections;
		} catch {}
	}
	return { drains: drains.size, requests, connections };
}
