/**
 * The health ticker: runs the checks every interval, keeps their results, and answers `/livez`, `/readyz` and
 * `/healthz` from them. Readiness falls as soon as shutdown starts; the ticker stops in the shutdown phase.
 */
import type { Server } from 'node:http';
import { atCallSite } from '../call-site.js';
import { createDebug } from '../debug.js';
import { proc as defaultProc } from '../index.js';
import { procInForce } from '../testing-protocol.js';
import type { Proc, WaitFunction } from '../types.js';
import { assertBoolean, assertFunction, assertNumber, assertString, expected } from '../validate.js';
import { CheckRunner } from './check-runner.js';
import { createHealthFetch, type HealthFetch } from './fetch-handler.js';
import { createHealthHandler, type Endpoint, type HealthView, type Verdict } from './handler.js';
import { closeServer, listenHealth } from './listen-health.js';
import { type LoopDelayMonitor, startLoopDelayMonitor } from './loop-delay-monitor.js';
import { messageOf } from './message-of.js';
import { cannotTellMessage, notReadyFileExists } from './not-ready-file.js';
import { type ResolvedOptions, resolveOptions } from './resolve-options.js';
import { touchFile } from './touch-file.js';
import { notifySocket } from '../systemd/notify.js';
import { setSystemdLiveness } from '../systemd/service.js';
import type {
	CheckResult,
	HealthChangeListener,
	HealthHandler,
	HealthServer,
	HealthStatus,
	HealthTicker,
	HealthTickerOptions,
} from './types.js';

const log = createDebug('health');

const OK: Verdict = { ok: true };

class StoppedError extends Error {
	override name = 'AbortError';
	constructor() {
		super('the health ticker stopped');
	}
}

/** The whole ticker; `createHealthTicker` hands out a subset of it. */
export class Ticker implements HealthView {
	readonly #options: ResolvedOptions;
	readonly #runners: CheckRunner[];
	readonly #proc: Proc | undefined;
	#results: Record<string, CheckResult> = {};
	#started = false;
	#manualReady = true;
	/** Whether `notReadyFile` existed at the start of the last round. */
	#takenOutByFile = false;
	#shuttingDown = false;
	#stopped = false;
	#round: Promise<HealthStatus> | undefined;
	#cancelNext: (() => void) | undefined;
	/** The controllers of the checks running now, aborted by stop(). */
	readonly #running = new Set<AbortController>();
	#stopping: Promise<void> | undefined;
	readonly #monitor: LoopDelayMonitor | undefined;
	readonly #listeners = new Set<HealthChangeListener>();
	#lastNotified: HealthStatus;
	readonly #servers = new Set<Server>();
	#wait: WaitFunction | undefined;
	#onShutdownStart: (() => void) | undefined;
	#heartbeatWarned = false;
	#notReadyFileWarned = false;
	#rounds = 0;
	version = 0;
	readonly handler: HealthHandler;
	readonly fetch: HealthFetch;

	constructor(options: HealthTickerOptions) {
		const resolved = resolveOptions(options);
		this.#options = resolved;
		this.#runners = resolved.checks.map(
			([name, fn]) => new CheckRunner(name, fn, resolved.timeout, resolved.failureThreshold, resolved.successThreshold),
		);
		this.#proc = resolved.proc === false ? undefined : procInForce(resolved.proc ?? defaultProc);
		this.handler = createHealthHandler(this);
		this.fetch = createHealthFetch(this);
		this.#lastNotified = this.status();

		const proc = this.#proc;
		if (proc) {
			// Readiness must fall before anything else reacts to the shutdown (drain's delay counts on it);
			// proc.signal aborts at the very start, before the first listener is called.
			const onShutdownStart = () => {
				this.#shuttingDown = true;
				log('shutdown started: not ready');
				this.#changed();
			};
			this.#onShutdownStart = onShutdownStart;
			if (proc.signal.aborted) this.#shuttingDown = true;
			else proc.signal.addEventListener('abort', onShutdownStart, { once: true });
			// Registered now, not lazily: the ticker is what turns SIGTERM into a shutdown when nothing else
			// is registered yet, and the shutdown phase (after drain) is when probes stop mattering.
			this.#wait = proc.addShutdownListener(() => this.stop(), { name: 'health' });
		}
		// Under systemd with WatchdogSec=, the watchdog pings go out only while this ticker says the service is live.
		if (notifySocket() !== undefined) setSystemdLiveness(() => this.#live);
		if (resolved.maxEventLoopDelay !== false) {
			this.#monitor = startLoopDelayMonitor(resolved.maxEventLoopDelay, resolved.interval, () => {
				log('event loop %s', this.#monitor?.live ? 'recovered' : `stalled ${this.#monitor?.lastStallMs} ms`);
				this.#changed();
			});
		}
		// A microtask, so that a check may refer to the ticker being created (`const ticker = ...`).
		queueMicrotask(() => {
			if (this.#rounds === 0) void this.check();
		});
	}

	// ---- the view the handler and status() read ----

	#allHealthy(): boolean {
		for (const runner of this.#runners) if (!runner.healthy) return false;
		return true;
	}

	#failing(): string {
		return this.#runners
			.filter((runner) => !runner.healthy)
			.map((runner) => runner.name)
			.join(', ');
	}

	get #live(): boolean {
		return this.#monitor?.live ?? true;
	}

	get #ready(): boolean {
		return this.#started && this.#manualReady && !this.#takenOutByFile && !this.#shuttingDown && !this.#stopped && this.#allHealthy();
	}

	verdict(endpoint: Endpoint): Verdict {
		if (endpoint === 'livez') {
			return this.#live ? OK : { ok: false, reason: `event loop stalled ${this.#monitor?.lastStallMs} ms` };
		}
		if (endpoint === 'readyz') {
			if (this.#shuttingDown) return { ok: false, reason: 'shutting down' };
			if (this.#stopped) return { ok: false, reason: 'stopped' };
			if (!this.#manualReady) return { ok: false, reason: 'set not ready' };
			if (this.#takenOutByFile) return { ok: false, reason: `taken out of rotation: ${this.#options.notReadyFile} exists` };
		} else {
			if (this.#stopped) return { ok: false, reason: 'stopped' };
			if (!this.#live) return { ok: false, reason: `event loop stalled ${this.#monitor?.lastStallMs} ms` };
		}
		// /healthz ignores the two traffic switches: an instance taken out or draining is not broken.
		if (!this.#started) return { ok: false, reason: 'starting' };
		if (!this.#allHealthy()) return { ok: false, reason: `failing: ${this.#failing()}` };
		return OK;
	}

	status(): HealthStatus {
		const checks: Record<string, CheckResult> = {};
		for (const [name, result] of Object.entries(this.#results)) checks[name] = { ...result };
		return { started: this.#started, live: this.#live, ready: this.#ready, checks };
	}

	// ---- the public API ----

	setReady(ready: boolean): void {
		assertBoolean('ready', ready);
		if (this.#manualReady === ready) return;
		this.#manualReady = ready;
		log('setReady(%s)', ready);
		this.#changed();
	}

	check(): Promise<HealthStatus> {
		if (this.#stopped) return Promise.resolve(this.status());
		if (this.#round) return this.#round;
		this.#cancelNext?.();
		this.#cancelNext = undefined;
		this.#rounds += 1;
		const startedAt = performance.now();
		const round = this.#runRound()
			.catch((error: unknown) => {
				// A round must never reject: the scheduled call has nobody to hand it to (an unhandled rejection
				// would end the process), and the schedule must go on.
				log('round failed unexpectedly: %s', messageOf(error));
				return this.status();
			})
			.then((status) => {
				this.#round = undefined;
				this.#schedule(startedAt);
				return status;
			});
		this.#round = round;
		return round;
	}

	onChange(listener: HealthChangeListener): () => void {
		assertFunction('listener', listener);
		// A wrapper per subscription, so subscribing the same function twice unsubscribes one at a time.
		const entry: HealthChangeListener = (status, previous) => listener(status, previous);
		this.#listeners.add(entry);
		return () => {
			this.#listeners.delete(entry);
		};
	}

	async listen(port: number, host?: string): Promise<HealthServer> {
		assertNumber('port', port, { integer: true });
		if (port > 65535) throw new RangeError(expected('port', 'a finite integer >= 0 and <= 65535', port));
		if (host !== undefined) assertString('host', host);
		if (this.#stopped) throw new Error('graceful-proc: the health ticker is stopped; listen() is not possible');
		const served = await listenHealth(this.handler, port, host);
		if (this.#stopped) {
			await closeServer(served.server);
			throw new Error('graceful-proc: the health ticker stopped while listen() was starting');
		}
		this.#servers.add(served.server);
		log('probes served at %s', served.url);
		return served;
	}

	stop(): Promise<void> {
		if (this.#stopping) return this.#stopping;
		this.#stopped = true;
		if (notifySocket() !== undefined) setSystemdLiveness(undefined);
		this.#cancelNext?.();
		this.#cancelNext = undefined;
		this.#monitor?.stop();
		const stopped = new StoppedError();
		for (const controller of this.#running) controller.abort(stopped);
		if (this.#onShutdownStart) this.#proc?.signal.removeEventListener('abort', this.#onShutdownStart);
		// Lets the signal handlers go when this was the last listener (a no-op when called by the listener).
		this.#wait?.remove();
		log('stopped');
		this.#changed();
		const round = this.#round;
		this.#stopping = (async () => {
			await Promise.all([...this.#servers].map((server) => closeServer(server)));
			this.#servers.clear();
			await round;
		})();
		return this.#stopping;
	}

	// ---- rounds ----

	async #runRound(): Promise<HealthStatus> {
		const file = this.#options.notReadyFile;
		const [results, takenOut] = await Promise.all([
			Promise.all(this.#runners.map((runner) => runner.run(this.#running))),
			file === undefined ? false : notReadyFileExists(file),
		]);
		if (this.#stopped) return this.status();
		if (takenOut instanceof Error) {
			if (!this.#notReadyFileWarned) process.emitWarning(cannotTellMessage(file!, takenOut), { code: 'GRACEFUL_PROC_NOT_READY_FILE' });
			this.#notReadyFileWarned = true;
		} else if (takenOut !== this.#takenOutByFile) {
			this.#takenOutByFile = takenOut;
			log(takenOut ? '%s exists: not ready' : '%s is gone: back in rotation', file);
		}
		// Committed together, so status() never mixes two rounds.
		const committed: Record<string, CheckResult> = {};
		this.#runners.forEach((runner, index) => {
			const result = results[index]!;
			committed[runner.name] = result;
			runner.record(result.ok);
		});
		this.#results = committed;
		const good = this.#allHealthy();
		if (good && !this.#started) {
			this.#started = true;
			log('started');
		}
		if (!good) log('round failed: %s', this.#failing());
		this.#changed();
		if (good && this.#options.heartbeatFile !== undefined) await this.#touchHeartbeat(this.#options.heartbeatFile);
		return this.status();
	}

	async #touchHeartbeat(file: string): Promise<void> {
		try {
			await touchFile(file);
		} catch (error) {
			log('heartbeat %s failed: %s', file, messageOf(error));
			if (!this.#heartbeatWarned) {
				// A heartbeat that silently never gets written turns into a restart loop; say it once, loudly.
				this.#heartbeatWarned = true;
				process.emitWarning(`graceful-proc: cannot touch heartbeat file ${file}: ${messageOf(error)}`, {
					code: 'GRACEFUL_PROC_HEARTBEAT',
				});
			}
		}
	}

	#schedule(startedAt: number): void {
		if (this.#stopped) return;
		// From the start of the last round: a slow round delays the next one, rounds never pile up.
		const delay = startedAt + this.#options.interval - performance.now();
		const next = () => {
			this.#cancelNext = undefined;
			void this.check();
		};
		// Always a timer, never an immediate: an unref'd immediate does not wake a loop that sleeps in poll
		// (an idle worker waiting on a long timer of its own), so rounds would stop until something else
		// woke the process. An unref'd timer does wake it, and still never keeps a finished process alive.
		// A round that ran late (its check timed out at `interval`) is followed after 1 ms.
		const timer = setTimeout(next, Math.max(0, delay));
		timer.unref?.();
		this.#cancelNext = () => clearTimeout(timer);
	}

	#changed(): void {
		this.version += 1;
		const previous = this.#lastNotified;
		if (previous.started === this.#started && previous.live === this.#live && previous.ready === this.#ready) return;
		const current = this.status();
		this.#lastNotified = current;
		log('changed: started %s, live %s, ready %s', current.started, current.live, current.ready);
		for (const listener of [...this.#listeners]) {
			try {
				listener(current, previous);
			} catch (error) {
				const message = messageOf(error);
				log('onChange listener threw: %s', message);
				process.emitWarning(`graceful-proc: a health onChange listener threw: ${message}`, {
					code: 'GRACEFUL_PROC_HEALTH_LISTENER',
				});
			}
		}
	}
}

/**
 * Runs `checks` every `interval` (the first round at once), caches the results, and answers probes from
 * the cache. Ready falls at the very start of a shutdown; the ticker stops in its shutdown phase.
 * @example
 * const health = createHealthTicker({ checks: { db: (signal) => db.ping({ signal }) } })
 * app.use('/health', health.handler)
 */
export function createHealthTicker(options: HealthTickerOptions): HealthTicker {
	const ticker = new Ticker(options);
	return {
		status: () => ticker.status(),
		// What these throw at their call (a bad argument) points at the caller's line.
		setReady: atCallSite((ready: boolean) => ticker.setReady(ready)),
		check: () => ticker.check(),
		onChange: atCallSite((listener: HealthChangeListener) => ticker.onChange(listener)),
		handler: ticker.handler,
		fetch: ticker.fetch,
		listen: (port, host) => ticker.listen(port, host),
		stop: () => ticker.stop(),
	};
}
