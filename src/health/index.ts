/**
 * The `graceful-proc/health` entry point: `createHealthTicker()` and its types. Importing it starts nothing.
 */
import { atCallSite } from '../call-site.js';
import { createHealthTicker as createTicker } from './ticker.js';

// What it throws at its call points at the caller's line (call-site.ts); its documentation comes with `typeof`.
export const createHealthTicker: typeof createTicker = /* @__PURE__ */ atCallSite(createTicker);
export type {
	CheckResult,
	HealthChangeListener,
	HealthCheck,
	HealthHandler,
	HealthServer,
	HealthStatus,
	HealthTicker,
	HealthTickerOptions,
} from './types.js';
