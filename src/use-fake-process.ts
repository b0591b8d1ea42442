/**
 * `useFakeProcess()` and `useRealProcess()`: a test runs the app as written (top-level `serve(app)`, named exports
 * of the process-wide proc) against a fake process, and gives the real one back afterwards, as vitest's
 * `useFakeTimers()` / `useRealTimers()` do for timers.
 */
import { atCallSite } from './call-site.js';
import { createProc, proc as processWide } from './index.js';
import { FakeProcess, type FakeProcessOptions } from './fake-process.js';
import { type FakeBinding, kBindFake, kFakeBinding, kRegisteredNames } from './testing-protocol.js';
import type { Proc } from './types.js';
import { assertOneOf, assertOptions } from './validate.js';

export interface UseFakeProcessOptions extends FakeProcessOptions {
	/**
	 * How drains on the process-wide proc wait for a load balancer, which a test has none of. `'devWatch'`: as
	 * under nodemon, a drain's `delay` and `idleGrace` are those of its `devWatch` option (0 unless set), so a test
	 * of an app with `delay: 5000` does not wait 5 s; requests in flight are still answered. `'production'`: as the
	 * app sets them, to test what happens during the delay (`/readyz` says 503 while the server still serves).
	 * @default 'devWatch'
	 */
	drainWaits?: 'devWatch' | 'production';
}

/** The fake process the process-wide proc is on. `await using fake = useFakeProcess()` gives the real one back at the block's end. */
export class ProcessWideFake extends FakeProcess {
	/** useRealProcess(), if the process-wide proc is still on this fake. */
	async [Symbol.asyncDispose](): Promise<void> {
		if (bindingOf(processWide)?.process === this) await useRealProcess();
	}
}

const FAKE_KEYS = ['pid', 'platform', 'ipc', 'activeResources'] as const;
const DRAIN_WAITS = ['devWatch', 'production'] as const;

interface Rebindable {
	readonly [kFakeBinding]: FakeBinding | undefined;
	[kBindFake](binding: FakeBinding | undefined): void;
	readonly [kRegisteredNames]: string[];
}

function rebindable(proc: Proc): (Proc & Rebindable) | undefined {
	return typeof (proc as Partial<Rebindable>)[kBindFake] === 'function' ? (proc as Proc & Rebindable) : undefined;
}

function bindingOf(proc: Proc): FakeBinding | undefined {
	return rebindable(proc)?.[kFakeBinding];
}

/**
 * Puts the process-wide proc on a new fake process until `useRealProcess()`: what the app registers from now on
 * (its `serve()`, its listeners, its health ticker) belongs to a fresh proc bound to the fake, so that
 * `fake.kill('SIGTERM')` runs the app's shutdown, `await fake.exited` gives its exit code and `fake.shutdownReport`
 * its report, and nothing reaches the real process. Load the app after this call.
 *
 * @example
 * const fake = useFakeProcess()
 * await import('./server.js')       // the app as written: await serve(app, { port: 3000, delay: 5000 })
 * fake.kill('SIGTERM')
 * expect(await fake.exited).toBe(0)
 */
export const useFakeProcess = /* @__PURE__ */ atCallSite(function useFakeProcess(options?: UseFakeProcessOptions): ProcessWideFake {
	assertOptions('options', options, [...FAKE_KEYS, 'drainWaits']);
	const { drainWaits = 'devWatch', ...fakeOptions } = options ?? {};
	assertOneOf('options.drainWaits', drainWaits, DRAIN_WAITS);
	const wide = rebindable(processWide);
	if (wide === undefined) {
		throw new Error('graceful-proc: useFakeProcess(): the process-wide proc comes from an older copy of graceful-proc, which cannot be put on a fake process; use createProc({ process: createFakeProcess() })');
	}
	const bound = wide[kFakeBinding];
	if (bound !== undefined) {
		throw new Error(`graceful-proc: useFakeProcess(): the process-wide proc is already on a fake process (pid ${bound.process.pid}); call useRealProcess() (and await it, in afterEach) before faking it again`);
	}
	if (wide.state !== 'running') {
		throw new Error(`graceful-proc: useFakeProcess(): the process-wide proc is shutting down (state '${wide.state}'): there is no app left to test`);
	}
	// Registered before the fake, these are the real process's: its signals would run them and exit the test
	// runner. Almost always an app loaded before this call; refused, rather than tested without them.
	const registered = wide[kRegisteredNames];
	if (registered.length > 0) {
		throw new Error(
			`graceful-proc: useFakeProcess(): the process-wide proc already has listeners on the real process (${registered.map((name) => `\`${name}\``).join(', ')}): ` +
				'they were registered before the fake, so they would not run on it. Load the app after useFakeProcess() (`await import(...)`, ' +
				'with vi.resetModules() or jest.resetModules() to load it again in the next test), or remove them first',
		);
	}
	const fake = new ProcessWideFake(fakeOptions);
	wide[kBindFake]({ proc: createProc({ process: fake }), process: fake, drainWaits });
	return fake;
});

/**
 * Gives the process-wide proc back to the real process, at once; then, if the app on the fake is still up (the
 * test never stopped it, or failed first), runs its shutdown on the fake and resolves once it has ended, so that
 * no server, ticker or timer of it is left open. Does nothing when the process-wide proc is on the real process.
 *
 * @example
 * afterEach(() => useRealProcess())
 */
export async function useRealProcess(): Promise<void> {
	const wide = rebindable(processWide);
	const binding = wide?.[kFakeBinding];
	if (wide === undefined || binding === undefined) return;
	wide[kBindFake](undefined);
	// Joins a sequence already under way (and resolves at once for one that ended), or starts one.
	await binding.proc.shutdown('useRealProcess()');
	// The proc exits the fake one turn after the report (exit.ts); that turn was queued before this one.
	await null;
}
