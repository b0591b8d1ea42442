import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { failures, isRunning, runRoll, toolInstalled } from '../helpers/roll.js';

// The end-to-end proof: examples/rolling/roll.js puts HAProxy in front of three replicas, runs a keep-alive
// load through it and restarts two replicas one at a time, once with graceful-proc's serve() and once with a
// bare server.close(). It imports the built package, so `npm run build` comes first.

const roll = fileURLToPath(new URL('../../examples/rolling/roll.js', import.meta.url));
const INSTALL = 'haproxy is not installed: `apt-get update && apt-get install -y haproxy` (Debian), or set HAPROXY';

interface Restart {
	server: string;
	exit: number | string | null;
	shutdown?: string;
	haproxyDownMs?: number;
	exitMs: number;
}

interface VariantResult {
	variant: 'graceful' | 'baseline';
	requestsSent: number;
	'2xx': number;
	non2xx: number;
	errors: number;
	rollMs: number;
	restarts: Restart[];
	byPhase: Record<string, Record<string, number>>;
	haproxyPid: number;
	replicaPids: number[];
}

const installed = toolInstalled('haproxy', 'HAPROXY');

// Without haproxy the suite is skipped on a developer machine and fails in CI, where it must run.
describe.runIf(installed || Boolean(process.env.CI))('a rolling restart behind HAProxy', () => {
	let graceful: VariantResult;
	let baseline: VariantResult;

	beforeAll(async () => {
		if (!installed) throw new Error(INSTALL);
		// Two restarts under a few seconds of load. `--grace` plays terminationGracePeriodSeconds: a bare
		// close() keeps HAProxy's idle keep-alive connections open and is only stopped by the kill.
		({ graceful, baseline } = await runRoll<VariantResult>(roll, [
			'--duration', '4',
			'--restarts', '2',
			'--time-to-force-quit', '4000',
			'--grace', '5000',
		]));
	}, 120_000);

	describe('with serve(), a readiness delay longer than the health checks need', () => {
		it('loses no request: every response is a 2xx and no connection fails', () => {
			expect(graceful['2xx']).toBeGreaterThan(0);
			// The failures, if any, with the phase of the roll they happened in, also in the message's first line.
			const seen = JSON.stringify({ failures: failures(graceful), restarts: graceful.restarts });
			expect({ non2xx: graceful.non2xx, errors: graceful.errors, failures: failures(graceful) }, seen).toEqual({
				non2xx: 0,
				errors: 0,
				failures: {},
			});
		});

		it('keeps serving while each replica drains: traffic flows through every restart', () => {
			expect(graceful.restarts.map((restart) => restart.server)).toEqual(['s1', 's2']);
			for (const { server } of graceful.restarts) {
				expect(graceful.byPhase[`${server} draining`]?.['200'] ?? 0).toBeGreaterThan(0);
			}
		});

		it('is taken out by HAProxy before it stops, and exits cleanly with code 0', () => {
			for (const restart of graceful.restarts) {
				expect(restart).toMatchObject({ exit: 0, shutdown: 'clean' });
				expect(restart.haproxyDownMs).toBeDefined();
				expect(restart.haproxyDownMs!).toBeLessThan(restart.exitMs);
			}
		});
	});

	describe('with a bare server.close() on SIGTERM', () => {
		// The listener closes at once, while HAProxy goes on routing to the replica until its checks fail
		// (~0.3 s): every request that needs a new connection then is refused (503, termination state SC).
		// How many depends on how many keep-alive connections happened to survive the close(): in 32
		// restarts under this closed-loop load, 4 to 182 per restart and never none; two make it safe.
		it('loses requests while HAProxy still routes to the closed listener', () => {
			expect(baseline.restarts).toHaveLength(2);
			expect(baseline.non2xx + baseline.errors).toBeGreaterThan(0);
		});
	});

	it('leaves no HAProxy and no replica running', () => {
		for (const result of [graceful, baseline]) {
			expect(isRunning(result.haproxyPid)).toBe(false);
			for (const pid of result.replicaPids) expect(isRunning(pid)).toBe(false);
		}
	});
});
