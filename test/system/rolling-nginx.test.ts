import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { failures, isRunning, runBaselineRoll, runRoll, toolInstalled } from '../helpers/roll.js';

// The end-to-end proof behind nginx: examples/rolling/roll-nginx.js puts nginx (no active health checks; it
// learns that a replica is gone only from a failed connection, and never resends a POST it has sent) in front of
// three replicas, runs keep-alive clients sending POSTs through it, and restarts the three one at a time,
// once with graceful-proc's serve() and once with a bare server.close(). It imports the built package, so
// `npm run build` comes first.

const roll = fileURLToPath(new URL('../../examples/rolling/roll-nginx.js', import.meta.url));
const INSTALL = 'nginx is not installed: `apt-get update && apt-get install -y nginx` (Debian), or set NGINX';

interface Restart {
	server: string;
	exit: number | string | null;
	shutdown?: string;
	exitMs: number;
	connectionsAfterSigterm?: number;
	requestsAfterSigterm?: number;
	/** The baseline: what its close() found. */
	atClose?: { inFlight: number; connections: number };
}

interface VariantResult {
	variant: 'graceful' | 'baseline';
	'2xx': number;
	non2xx: number;
	errors: number;
	statusCodes: Record<string, number>;
	restarts: Restart[];
	byPhase: Record<string, Record<string, number>>;
	nginxErrors: Record<string, number>;
	nginxPid: number;
	replicaPids: number[];
}

const installed = toolInstalled('nginx', 'NGINX');
// Control rolls at most: see 'loses requests (502)'.
const MAX_BASELINE_ROLLS = 4;
// What nginx's error log says of a request it had sent on a connection the replica closed (examples/rolling/nginx.js).
const SENT_ON_A_CLOSED_CONNECTION = ['reset while reading response header', 'closed before response header', 'reset while sending request', 'broken pipe while sending request'];

// Without nginx the suite is skipped on a developer machine and fails in CI, where it must run.
describe.runIf(installed || Boolean(process.env.CI))('a rolling restart behind nginx, with POSTs', () => {
	let graceful: VariantResult;
	// The control rolls: one, and more only while each lost nothing (see 'loses requests (502)').
	const baselines: VariantResult[] = [];
	const lost = (result: VariantResult) => result.non2xx + result.errors;

	beforeAll(async () => {
		if (!installed) throw new Error(INSTALL);
		// Three restarts under a few seconds of load, nginx with the settings docs/rolling.md recommends, but a
		// fail_timeout of 1 s (nginx's shortest) so that the roll is quick. `--grace` plays
		// terminationGracePeriodSeconds: a bare close() may keep nginx's pooled connections open until the kill.
		// `--warmup 3000`: nginx fills its connection pool over the first seconds of load, and a connection it opens
		// to a replica at the instant that replica stops accepting is reset in the listen backlog, the loss no
		// server can prevent (docs/rolling.md). Measured: after the driver's default 1 s, the first restart got
		// 1 to 4 new connections during its delay in 5 of 20 rolls (one 371 ms into a 500 ms delay; the likely
		// cause of the one POST a loaded CI run lost); after 3 s, no restart got any in 8 rolls under three CPU hogs.
		const args = ['--duration', '3', '--restarts', '3', '--warmup', '3000', '--delay', '500', '--fail-timeout', '1000', '--time-to-force-quit', '4000', '--grace', '2500'];
		const both = await runRoll<VariantResult>(roll, args);
		graceful = both.graceful;
		baselines.push(both.baseline);
		while (baselines.length < MAX_BASELINE_ROLLS && lost(baselines.at(-1)!) === 0) baselines.push(await runBaselineRoll<VariantResult>(roll, args));
	}, 90_000 + (MAX_BASELINE_ROLLS - 1) * 45_000);

	describe('with serve()', () => {
		it('fails no request: every POST is answered 200 and no connection fails', () => {
			expect(graceful['2xx']).toBeGreaterThan(0);
			// The message names the phase of each failure and what nginx logged: a failure's first line says it all.
			const seen = JSON.stringify({ failures: failures(graceful), nginx: graceful.nginxErrors, restarts: graceful.restarts });
			expect({ non2xx: graceful.non2xx, errors: graceful.errors, failures: failures(graceful) }, seen).toEqual({ non2xx: 0, errors: 0, failures: {} });
			// nginx saw no reset of a request it had sent, nor a connection closed before the answer.
			expect(graceful.nginxErrors['reset while reading response header'] ?? 0).toBe(0);
			expect(graceful.nginxErrors['closed before response header'] ?? 0).toBe(0);
		});

		it('serves through every restart and exits cleanly with code 0', () => {
			expect(graceful.restarts.map((restart) => restart.server)).toEqual(['s1', 's2', 's3']);
			for (const restart of graceful.restarts) {
				expect(restart).toMatchObject({ exit: 0, shutdown: 'clean' });
				// nginx kept sending to it after SIGTERM (it has no readiness checks), and it served them.
				expect(restart.requestsAfterSigterm).toBeGreaterThan(0);
				expect(graceful.byPhase[`${restart.server} draining`]?.['200'] ?? 0).toBeGreaterThan(0);
			}
		});
	});

	describe('with a bare server.close() on SIGTERM', () => {
		// node's close() destroys the pooled connections that are idle at that instant, while nginx may be writing a
		// POST on one of them. nginx has sent the POST, so it does not pass it on, and answers 502; its error log
		// says "Connection reset by peer while reading response header", or, when the replica's FIN is read before
		// its reset (more often on a loaded machine), "upstream prematurely closed connection while reading response
		// header". The loss is a race (a POST written on a connection at the instant close() destroys it). Measured
		// on a 2-core VM: 15 rolls of three restarts each lost 2 to 24 POSTs, each one logged as one of those two
		// errors, but 17 of the 45 restarts lost none, so about one roll in twenty loses nothing. A roll that lost
		// nothing is followed by another control roll, up to MAX_BASELINE_ROLLS in all: twelve restarts that all
		// lose nothing would take odds of about 1 in 100,000.
		it('loses requests (502), each one a POST sent on a connection the replica had closed', () => {
			for (const baseline of baselines) expect(baseline.restarts).toHaveLength(3);
			const losing = baselines.filter((baseline) => lost(baseline) > 0);
			expect(losing, `${baselines.length} control rolls, none lost a request`).toHaveLength(1);
			const { nginxErrors, errors, statusCodes } = losing[0]!;
			const sentOnClosed = SENT_ON_A_CLOSED_CONNECTION.reduce((sum, kind) => sum + (nginxErrors[kind] ?? 0), 0);
			expect({ errors, lost502: lost(losing[0]!) === (statusCodes['502'] ?? 0), sentOnClosed }, JSON.stringify(nginxErrors)).toEqual({
				errors: 0,
				lost502: true,
				sentOnClosed: lost(losing[0]!),
			});
		});

		// close() destroys the connections idle at that instant; one with a request in flight stays open after its
		// answer, and nginx keeps it in its pool. On a loaded machine nginx may have sent nothing for a few ms just
		// then, every connection is idle, and the replica exits at once (seen once in CI): that restart shows
		// nothing about the pool, so it is left out, and at least one restart must show it.
		it('waits for the kill whenever a request was in flight at close(): nginx keeps its pooled connections open', () => {
			const restarts = baselines.flatMap((baseline) => baseline.restarts);
			for (const restart of restarts) expect(restart.atClose, JSON.stringify(restart)).toBeDefined();
			const busy = restarts.filter((restart) => restart.atClose!.inFlight > 0);
			expect(busy.length, JSON.stringify(restarts)).toBeGreaterThan(0);
			for (const restart of busy) expect(restart.exit, JSON.stringify(restart)).toBe('SIGKILL');
		});
	});

	it('leaves no nginx and no replica running', () => {
		for (const result of [graceful, ...baselines]) {
			expect(isRunning(result.nginxPid)).toBe(false);
			for (const pid of result.replicaPids) expect(isRunning(pid)).toBe(false);
		}
	});
});
