import fc from 'fast-check';

// Keep every property well under the test timeout, even on a loaded 2-core machine.
fc.configureGlobal({ interruptAfterTimeLimit: 10_000, markInterruptAsFailure: false, numRuns: 100 });
