/**
 * Durations as people write them on the bin's command line (`500ms`, `2s`, `1.5m`, `1h`, a unit required), and
 * milliseconds written back that way in its messages.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * `'500ms'`, `'2s'`, `'1.5m'`, `'1h'` → milliseconds; `undefined` when it is not a duration. A unit is
 * required: a bare `3` reads as seconds to Docker users and as milliseconds to Node users.
 */
export function parseDuration(text: string): number | undefined {
	const match = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)$/.exec(text.trim());
	if (match === null) return undefined;
	const ms = Number(match[1]) * UNITS[match[2]!]!;
	return Number.isFinite(ms) ? ms : undefined;
}

/** Milliseconds as the shortest readable duration, for messages. */
export function formatDuration(ms: number): string {
	if (ms < 1000) return `${Math.round(ms)}ms`;
	if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
	return `${Number((ms / 60_000).toFixed(1))}m`;
}
