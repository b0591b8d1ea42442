/**
 * Order within a phase: a listener's `after` names listeners registered before it (their wait functions, or
 * names); it starts once all of them have settled, well or not. Only what exists can be named, so no cycle can
 * be built. The links live here, beside the entries, so that a listener without `after` costs nothing more.
 */
import { entryOfWait, type ListenerEntry } from './listener-entry.js';
import type { Phase } from './types.js';
import { expected } from './validate.js';

/** What each waiting-capable entry runs after; only entries registered with `after` are here. */
const predecessors = new WeakMap<ListenerEntry, readonly ListenerEntry[]>();
/** The reverse links: who runs after an entry. */
const dependents = new WeakMap<ListenerEntry, ListenerEntry[]>();
/**
 * Whether any entry (of any proc of this copy) was ever linked. Until one is, no entry waits or releases anyone:
 * the calls and settlements of a shutdown skip the maps, and the listener table skips asking (one call each).
 */
export let linked = false;

/** Settled, for ordering: it ended (well or not), or was removed and will never run. */
function isSettled(entry: ListenerEntry): boolean {
	const status = entry.status;
	return status !== 'registered' && status !== 'running' && status !== 'waiting';
}

/**
 * The entries `after` names, checked against `entries` (the proc's table) before anything is registered. A wait
 * function must be this proc's and not removed; a name must be registered (every listener with that name
 * counts). A wrap-up listener cannot run after a shutdown listener: the wrap-up phase comes first.
 */
export function resolveAfter(after: readonly unknown[] | undefined, phase: Phase, entries: ReadonlySet<ListenerEntry>): ListenerEntry[] | undefined {
	if (after === undefined || after.length === 0) return undefined;
	const found = new Set<ListenerEntry>();
	after.forEach((item, index) => {
		const argument = `options.after[${index}]`;
		let named: ListenerEntry[];
		if (typeof item === 'function') {
			const entry = entryOfWait(item);
			if (entry === undefined || !entries.has(entry)) throw new TypeError(expected(argument, 'a wait function of this proc whose listener is still registered, or a listener name', item));
			named = [entry];
		} else if (typeof item === 'string') {
			named = [];
			for (const entry of entries) if (entry.name === item) named.push(entry);
			if (named.length === 0) throw new RangeError(expected(argument, 'the name of a listener registered on this proc before this one', item));
		} else {
			throw new TypeError(expected(argument, 'a wait function or a listener name', item));
		}
		for (const entry of named) {
			if (phase === 'wrap-up' && entry.phase === 'shutdown') {
				throw new RangeError(expected(argument, 'a wrap-up listener (a wrap-up listener cannot wait for the shutdown phase, which comes after it)', item));
			}
			found.add(entry);
		}
	});
	return [...found];
}

/** Links `entry` after `after` (resolved by resolveAfter). */
export function linkAfter(entry: ListenerEntry, after: readonly ListenerEntry[]): void {
	linked = true;
	predecessors.set(entry, after);
	for (const predecessor of after) {
		const list = dependents.get(predecessor);
		if (list === undefined) dependents.set(predecessor, [entry]);
		else list.push(entry);
	}
}

/** Whether `entry` must wait before it is called: one of its predecessors has not settled. */
export function mustWait(entry: ListenerEntry): boolean {
	if (!linked) return false;
	const list = predecessors.get(entry);
	return list !== undefined && list.some((predecessor) => !isSettled(predecessor));
}

/** The names of the predecessors `entry` still waits for (for the report). */
export function waitingOn(entry: ListenerEntry): string[] {
	return (predecessors.get(entry) ?? []).filter((predecessor) => !isSettled(predecessor)).map((predecessor) => predecessor.name);
}

/** What releasedBy returns for an entry nobody runs after (nearly every one): shared, so a settlement allocates nothing. */
const NONE: readonly ListenerEntry[] = Object.freeze([]);

/** The entries waiting for `settled` that may start now that it has settled (or been removed). */
export function releasedBy(settled: ListenerEntry): readonly ListenerEntry[] {
	if (!linked) return NONE;
	const list = dependents.get(settled);
	if (list === undefined) return NONE;
	return list.filter((dependent) => dependent.status === 'waiting' && !mustWait(dependent));
}
