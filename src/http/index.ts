// The `graceful-proc/http` entry point: drain(), serve(), drainSignal() and their types. Importing it opens no
// handle: node:http and node:http2 are taken from the runtime when first needed (see node-http.ts).
export { drain } from './drain.js';
export { DrainTimeoutError } from './drain-timeout-error.js';
export { drainSignal } from './drain-signal.js';
export type { DrainableRequest } from './drain-signal.js';
export type { DrainOptions } from './options.js';
export { serve } from './serve.js';
export type { CallbackApp, Served, ServeApp, ServeOptions } from './serve.js';
