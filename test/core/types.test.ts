import { describe, expectTypeOf, it } from 'vitest';
import * as procModule from '../../src/index.js';
import {
	createProc,
	proc,
	run,
	type ListenerContext,
	type Proc,
	type ProcState,
	type ShutdownReport,
	type WaitFunction,
} from '../../src/index.js';
import { createFakeProcess, type FakeProcess, type UseFakeProcessOptions, useFakeProcess, useRealProcess } from '../../src/testing.js';

describe('the types are part of the API', () => {
	it('reads like go-zero: import * as proc gives the functions and the signal', () => {
		expectTypeOf(procModule.addWrapUpListener).returns.toEqualTypeOf<WaitFunction>();
		expectTypeOf(procModule.addShutdownListener).parameter(0).parameter(0).toEqualTypeOf<ListenerContext>();
		expectTypeOf(procModule.setTimeToForceQuit).parameters.toEqualTypeOf<[number]>();
		expectTypeOf(procModule.setTimeToWrapUp).returns.toBeVoid();
		expectTypeOf(procModule.shutdown).returns.resolves.toEqualTypeOf<ShutdownReport>();
		expectTypeOf(procModule.signal).toEqualTypeOf<AbortSignal>();
	});

	it('gives wait() a promise of void and remove() a boolean', () => {
		const wait = proc.addWrapUpListener(async (ctx) => {
			expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
			expectTypeOf(ctx.deadline).toBeNumber();
			expectTypeOf(ctx.reason).toBeUnknown();
		});
		expectTypeOf(wait).returns.toEqualTypeOf<Promise<void>>();
		expectTypeOf(wait.remove).returns.toBeBoolean();
		wait.remove();
	});

	it('keeps state a union of the five states, and the report outcome a union', () => {
		expectTypeOf(proc.state).toEqualTypeOf<ProcState>();
		expectTypeOf<ProcState>().toEqualTypeOf<'running' | 'wrapping-up' | 'shutting-down' | 'done' | 'forced'>();
		expectTypeOf<ShutdownReport['outcome']>().toEqualTypeOf<'clean' | 'failed' | 'forced'>();
		expectTypeOf<ShutdownReport['listeners'][number]['outcome']>().toEqualTypeOf<'ok' | 'error' | 'timeout' | 'pending' | 'skipped'>();
		expectTypeOf<ShutdownReport['forcedBy']>().toEqualTypeOf<'deadline' | 'signal' | 'blocked' | undefined>();
	});

	it('accepts a fake process in createProc, and run() returns the report', () => {
		const fake = createFakeProcess();
		expectTypeOf(fake).toEqualTypeOf<FakeProcess>();
		expectTypeOf(fake.exited).toEqualTypeOf<Promise<number>>();
		expectTypeOf(createProc({ process: fake })).toEqualTypeOf<Proc>();
		expectTypeOf(run).returns.toEqualTypeOf<Promise<ShutdownReport>>();
		// @ts-expect-error: a time is a number, not a string
		expectTypeOf(createProc).toBeCallableWith({ timeToForceQuit: '10s' });
	});

	it('gives useFakeProcess() a fake process with its report, disposable with `await using`, and useRealProcess() a promise', () => {
		expectTypeOf(useFakeProcess).returns.toMatchTypeOf<FakeProcess>();
		expectTypeOf(useFakeProcess).returns.toMatchTypeOf<AsyncDisposable>();
		expectTypeOf<FakeProcess['shutdownReport']>().toEqualTypeOf<ShutdownReport | undefined>();
		expectTypeOf(useRealProcess).returns.toEqualTypeOf<Promise<void>>();
		expectTypeOf<UseFakeProcessOptions['drainWaits']>().toEqualTypeOf<'devWatch' | 'production' | undefined>();
		expectTypeOf(useFakeProcess).toBeCallableWith({ pid: 7, drainWaits: 'production' });
		// @ts-expect-error: the drain waits are 'devWatch' or 'production'
		expectTypeOf(useFakeProcess).toBeCallableWith({ drainWaits: 'none' });
	});
});
