// The `graceful-proc/http` entry point: drain(), serve(), drainSignal() and their types. Importing it opens no
// handle: node:http and node:http2 are taken from the runtime when first needed (see node-http.ts).
import { atCallSite } from '../call-site.js';
import { drain as drainServer } from './drain.js';
import { drainSignal as drainSignalOf } from './drain-signal.js';

// What these throw at their call points at the caller's line (call-site.ts); their documentation comes with `typeof`.
export const drain: typeof drainServer = /* @__PURE__ */ atCallSite(drainServer);
export const drainSignal: typeof drainSignalOf = /* @__PURE__ */ atCallSite(drainSignalOf);
export { DrainTimeoutError } from './drain-timeout-error.js';
export type { DrainableRequest } from './drain-signal.js';
export type { DrainOptions } from './options.js';
export { serve } from './serve.js';
export type { CallbackApp, RequestHandler, Served, ServeApp, ServeOptions } from './serve.js';
