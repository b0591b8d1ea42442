// The OpenTelemetry recipe of docs/recipes.md, for real: the SDK exporting over OTLP/HTTP to a collector this test
// runs on 127.0.0.1, a service under keep-alive load, a real SIGTERM, and each answered request looked for among
// the spans the collector got. Beside it, the zero-code `register`, whose own SIGTERM handler shuts the SDK down
// as the signal arrives, and the same register handed over to the last step.
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, reportOf, startNode } from '../helpers/child.js';
import { startLoadLoop } from '../helpers/load-loop.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';

const REGISTER = '@opentelemetry/auto-instrumentations-node/register';
const DELAY = 1000;
let receiver: OtlpReceiver | undefined;
afterEach(async () => {
	await receiver?.close();
	receiver = undefined;
});

async function shutdownUnderLoad(execArgv: string[], env: NodeJS.ProcessEnv = {}) {
	receiver = await startOtlpReceiver();
	const child = startNode(fixture('otel-app.mjs'), [], {
		execArgv,
		env: {
			OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
			OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
			// A machine outside a cloud: the cloud detectors would look for a metadata server.
			OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
			DELAY: String(DELAY),
			...env,
		},
	});
	// Loading the SDK and its instrumentations takes seconds on a loaded machine.
	const [, port, sigtermHandlers] = await child.waitFor(/^ready (\d+) (\d+)/, 45_000);
	const load = startLoadLoop(Number(port), { connections: 4 });
	await load.answeredAtLeast(40);
	const signalAt = Date.now();
	child.process.kill('SIGTERM');
	const closed = await child.closed;
	// The loops end on their own: once the drain is over, new connections are refused.
	await load.done;
	// The child exited after its exports were answered, so the collector has decoded them already.
	const traced = receiver.serverPaths();
	const missing = load.answered.filter((a) => !traced.has(a.path));
	return {
		closed,
		stderr: child.stderr(),
		report: reportOf(child),
		sigtermHandlers: Number(sigtermHandlers),
		answered: load.answered.length,
		answeredAfterSignal: load.answered.filter((a) => a.at > signalAt).length,
		failures: load.failed.map((f) => f.code),
		missing,
		missingAfterSignal: missing.filter((a) => a.at > signalAt).length,
		rejected: receiver.rejected,
	};
}

describe('OpenTelemetry: the spans of the requests served during the drain reach the collector', () => {
	it('with the SDK shut down in the last step, every answered request has its span at the collector, and the exit is 0', { timeout: 90_000 }, async () => {
		const run = await shutdownUnderLoad(['--import', fixture('otel-setup.mjs')]);
		expect(run.closed, run.stderr).toEqual([0, null]);
		expect(run.report).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });
		expect(run.report.foreignHandlers).toBeUndefined();
		// The load went on through the delay: the spans that matter are the ones after the signal.
		expect(run.answeredAfterSignal).toBeGreaterThan(10);
		expect(run.missing).toEqual([]);
		expect(new Set(run.failures)).toEqual(new Set(['ECONNREFUSED']));
		expect(run.rejected).toEqual([]);
		expect(run.stderr).not.toMatch(/Warning|graceful-proc:/);
	});

	it("with the zero-code register, its own SIGTERM handler shuts the SDK down at once: requests answered after the signal have no span, and the warning names the handler", { timeout: 90_000 }, async () => {
		const run = await shutdownUnderLoad(['--require', REGISTER]);
		expect(run.closed, run.stderr).toEqual([0, null]);
		expect(run.stderr).toMatch(/\[GRACEFUL_PROC_FOREIGN_HANDLER\] Warning: graceful-proc: another handler listens on the shutdown signals: `shutdown` \(SIGTERM\)/);
		expect(run.report.foreignHandlers).toEqual([{ name: 'shutdown', signals: ['SIGTERM'] }]);
		expect(run.answeredAfterSignal).toBeGreaterThan(10);
		// The loss: spans of requests that were answered, with the SDK already shut down.
		expect(run.missingAfterSignal).toBeGreaterThan(0);
		expect(run.missing.length).toBe(run.missingAfterSignal);
		console.log(`register: ${run.missing.length} of ${run.answeredAfterSignal} requests answered after SIGTERM have no span (${run.answered} answered in all)`);
	});

	it('with the register handed over to the last step, every answered request has its span, no warning, and the exit is 0', { timeout: 90_000 }, async () => {
		const run = await shutdownUnderLoad(['--require', REGISTER], { HANDOVER: '1' });
		// Only graceful-proc's handler is left on the signal.
		expect(run.sigtermHandlers).toBe(1);
		expect(run.closed, run.stderr).toEqual([0, null]);
		expect(run.report).toMatchObject({ outcome: 'clean', exitCode: 0 });
		expect(run.report.foreignHandlers).toBeUndefined();
		expect(run.answeredAfterSignal).toBeGreaterThan(10);
		expect(run.missing).toEqual([]);
		expect(run.stderr).not.toMatch(/GRACEFUL_PROC_FOREIGN_HANDLER/);
	});
});
