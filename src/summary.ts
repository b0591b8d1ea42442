import type { ShutdownReport } from './types.js';

function formatError(error: unknown): string {
	if (error instanceof Error) return `${error.name}: ${error.message}`;
	return String(error);
}

function formatReason(reason: unknown): string {
	if (reason instanceof Error) return formatError(reason);
	if (typeof reason === 'string') return reason;
	try {
		return JSON.stringify(reason) ?? String(reason);
	} catch {
		return String(reason);
	}
}

/** The short text a failed or forced shutdown prints: one line, then one line per listener that did not end well. */
export function formatSummary(report: ShutdownReport): string {
	const head =
		report.outcome === 'forced'
			? `graceful-proc: shutdown forced after ${report.durationMs} ms (reason: ${formatReason(report.reason)}), exit code ${report.exitCode}`
			: `graceful-proc: shutdown ${report.outcome} in ${report.durationMs} ms (reason: ${formatReason(report.reason)}), exit code ${report.exitCode}`;
	const lines = [head];
	for (const listener of report.listeners) {
		if (listener.outcome === 'ok') continue;
		const detail = listener.outcome === 'error' || listener.outcome === 'timeout' ? `: ${formatError(listener.error)}` : '';
		lines.push(`  ${listener.outcome.padEnd(7)} ${listener.name} (${listener.phase}, ${listener.durationMs} ms)${detail}`);
	}
	if (report.activeResources && report.activeResources.length > 0) {
		lines.push(`  still keeping the event loop alive: ${report.activeResources.join(', ')}`);
	}
	return lines.join('\n');
}
