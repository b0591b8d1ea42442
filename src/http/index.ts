// The `graceful-proc/http` entry point: drain(), serve(), drainSignal() and their types.
export { drain } from './drain.js';
export { DrainTimeoutError } from './drain-timeout-error.js';
export { drainSignal } from './drain-signal.js';
export type { DrainableRequest } from './drain-signal.js';
export type { DrainOptions } from './options.js';
export { serve } from './serve.js';
export type { CallbackApp, Served, ServeApp, ServeOptions } from './serve.js';
