/**
 * The public types of `graceful-proc/health`: a check and its result, the status, the probe handler and server,
 * the ticker and its options.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Proc } from '../types.js';

/**
 * One health check. It fails by throwing, rejecting or resolving to `false`; any other value counts as a
 * pass. `signal` aborts when the check runs out of `timeout` or the ticker stops: pass it on to whatever
 * the check waits for (`fetch`, a driver's query) so a hung dependency is not called again and again.
 */
export type HealthCheck = (signal: AbortSignal) => unknown;

/** The last result of one check. */
export interface CheckResult {
	/** Whether this check passed in the last round. */
	readonly ok: boolean;
	/** Milliseconds the check took (up to `timeout`). */
	readonly latencyMs: number;
	/** Why it failed: the error's message, never its stack. */
	readonly error?: string;
	/** Epoch milliseconds when the check settled. */
	readonly at: number;
}

/** What `status()` returns: a snapshot, safe to keep or to serialize. */
export interface HealthStatus {
	/** True once the first good round has finished; stays true. */
	readonly started: boolean;
	/** False while the event loop has been stalled beyond `maxEventLoopDelay`; true during shutdown. */
	readonly live: boolean;
	/** True when started, every check passes (after thresholds), `setReady(false)` is not in force, no `notReadyFile` exists, and shutdown has not started. */
	readonly ready: boolean;
	/** The last round's result per check; empty until the first round has finished. */
	readonly checks: Readonly<Record<string, CheckResult>>;
}

/** Called when `started`, `live` or `ready` changes. */
export type HealthChangeListener = (status: HealthStatus, previous: HealthStatus) => void;

/** A node request handler for `/livez`, `/readyz` and `/healthz`; fits `http.createServer`, Express and Koa (`ctx.req`, `ctx.res`). */
export type HealthHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

export interface HealthServer {
	readonly server: Server;
	/** `http://host:port`, with `localhost` when the server listens on every interface. */
	readonly url: string;
}

export interface HealthTicker {
	/** A snapshot of the cached results; runs nothing. */
	status(): HealthStatus;
	/** The manual switch: `setReady(false)` takes the instance out of the load balancer until `setReady(true)`. */
	setReady(ready: boolean): void;
	/** Runs a round now (or joins the one running) and resolves to the status after it. */
	check(): Promise<HealthStatus>;
	/** Calls `listener(status, previous)` whenever `started`, `live` or `ready` changes. Returns an unsubscribe function. */
	onChange(listener: HealthChangeListener): () => void;
	/** Serves `/livez`, `/readyz`, `/healthz` from the cache. */
	readonly handler: HealthHandler;
	/**
	 * Answers `/livez`, `/readyz`, `/healthz` for fetch-style servers (Hono, Bun.serve, Deno.serve): a web
	 * `Request` in, a `Response` out, from the same cache. The probe is named by the path's last segment.
	 * @example app.get('/readyz', (c) => health.fetch(c.req.raw))
	 */
	readonly fetch: (request: Request) => Response;
	/** Serves `handler` on its own port (closed when the ticker stops). */
	listen(port: number, host?: string): Promise<HealthServer>;
	/** Stops the schedule, aborts running checks and closes the servers from `listen()`. Idempotent. */
	stop(): Promise<void>;
}

export interface HealthTickerOptions {
	/**
	 * Name → check. Every check runs once per round, concurrently.
	 * @example { db: (signal) => pool.query('select 1', { signal }), cache: () => redis.ping() }
	 */
	checks: Record<string, HealthCheck>;
	/**
	 * Milliseconds from the start of one round to the start of the next. A round that takes longer delays
	 * the next one (they never overlap).
	 * @default 5000
	 */
	interval?: number;
	/**
	 * Milliseconds one check may take; then it fails and its signal aborts. At most `interval`.
	 * @default the smaller of 2000 and `interval`
	 */
	timeout?: number;
	/**
	 * Consecutive failed rounds before a passing check counts as failing (so one blip does not flap readiness).
	 * @default 1
	 */
	failureThreshold?: number;
	/**
	 * Consecutive passed rounds before a failing (or not yet run) check counts as passing.
	 * @default 1
	 */
	successThreshold?: number;
	/**
	 * Milliseconds the event loop may be stalled before `live` turns false; it turns true again after one
	 * `interval` without such a stall. `false` disables the measurement (then `live` is always true).
	 * @default 2000
	 */
	maxEventLoopDelay?: number | false;
	/**
	 * A file whose mtime is updated (created if missing) after every good round, for exec probes:
	 * `graceful-proc probe --file <path> --max-age 30s`.
	 * @example '/tmp/healthy'
	 */
	heartbeatFile?: string;
	/**
	 * A file that takes the instance out of rotation while it exists: `/readyz` answers 503 (liveness and
	 * `/healthz` are untouched), noticed at the next round. Created and removed from outside the process,
	 * by `graceful-proc ready off --file <path>` and `graceful-proc ready on --file <path>` (`kubectl exec`).
	 * @example '/tmp/not-ready'
	 */
	notReadyFile?: string;
	/**
	 * The proc whose shutdown turns `ready` false (at its very start) and stops the ticker (in the shutdown
	 * phase). `false`: no tie to any proc; `ready` then only follows the checks and `setReady`.
	 * @default the process-wide proc
	 */
	proc?: Proc | false;
}
