/**
 * `graceful-proc/testing`: `createFakeProcess()`, a process-like object for `createProc({ process })`, and
 * `useFakeProcess()` / `useRealProcess()`, which put the process-wide proc on one for a test, so that an app
 * written as the README shows is tested as it is.
 */
export { createFakeProcess, FakeProcess, type FakeProcessOptions } from './fake-process.js';
export { ProcessWideFake, type UseFakeProcessOptions, useFakeProcess, useRealProcess } from './use-fake-process.js';
