export { createHealthTicker } from './ticker.js';
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
