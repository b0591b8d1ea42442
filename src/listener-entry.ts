/**
 * One registered listener and what hangs off it: its run once called, the promise behind its `wait()`,
 * the `ctx` it is called with. A service may hold and churn thousands, so all but the essentials are made on demand.
 */
import { ListenerRemovedError } from './errors.js';
import type { Listener, ListenerContext, ListenerOutcome, Phase, WaitFunction } from './types.js';
import { expected } from './validate.js';

const ignore = () => {};

/**
 * A failure for a `wait()` that nobody has called yet. `make` builds the error only when somebody does: stack
 * traces are costly, and removal and forced ends touch every listener. One Failure may serve many entries.
 */
export class Failure {
	readonly #error: unknown;
	readonly #make: ((entry: ListenerEntry) => unknown) | undefined;

	constructor(error: unknown, make?: (entry: ListenerEntry) => unknown) {
		this.#error = error;
		this.#make = make;
	}

	errorFor(entry: ListenerEntry): unknown {
		return this.#make === undefined ? this.#error : this.#make(entry);
	}
}

const REMOVED = new Failure(undefined, (entry) => new ListenerRemovedError(entry.name));
/** Forced while running: `wait()` rejects with the reason its `ctx.signal` aborted with. */
const FORCED_WHILE_RUNNING = new Failure(undefined, (entry) => entry.abortReason);

/** What `wait()` returns, once somebody has called it. */
class Waiter {
	readonly promise: Promise<void>;
	/** Until it is settled; only the first settlement counts. */
	resolve: (() => void) | undefined = undefined;
	reject: ((error: unknown) => void) | undefined = undefined;

	constructor(settled: Failure | null | undefined, entry: ListenerEntry) {
		this.promise =
			settled === undefined
				? new Promise<void>((resolve, reject) => {
						this.resolve = resolve;
						this.reject = reject;
					})
				: settled === null
					? Promise.resolve()
					: Promise.reject(settled.errorFor(entry));
		// Nobody has to await it: a failure never becomes an unhandled rejection.
		this.promise.catch(ignore);
	}
}

/**
 * What only a listener whose `ctx.signal` was read, or that was aborted, needs: the AbortController behind
 * `ctx.signal`, and what it aborts with, made only then. A shutdown may call thousands of listeners.
 */
class AbortState {
	controller: AbortController | undefined = undefined;
	aborted = false;
	#reason: unknown = undefined;
	#makeReason: (() => unknown) | undefined = undefined;

	/** `ctx.signal`: aborted already if the listener timed out or was forced before it first looked. */
	get signal(): AbortSignal {
		if (this.controller === undefined) {
			this.controller = new AbortController();
			if (this.aborted) this.controller.abort(this.reason);
		}
		return this.controller.signal;
	}

	abort(reason: unknown): void {
		if (this.aborted) return;
		this.aborted = true;
		this.#reason = reason;
		this.controller?.abort(reason);
	}

	/** Like abort(), but the reason is made only if the listener has looked at its signal or looks later. */
	abortLazily(makeReason: () => unknown): void {
		if (this.aborted) return;
		this.aborted = true;
		this.#makeReason = makeReason;
		if (this.controller) this.controller.abort(this.reason);
	}

	/** What the signal aborted (or will abort) with; made once, when first asked for. */
	get reason(): unknown {
		const make = this.#makeReason;
		if (make !== undefined) {
			this.#makeReason = undefined;
			this.#reason = make();
		}
		return this.#reason;
	}
}

/**
 * One registered listener. Registration is the hot path (a service may hold thousands of listeners and churn
 * them), so an entry holds only what every listener needs; the rest is made on demand: the run record when the
 * listener is called, the promise behind `wait()` when somebody calls it, the name of an anonymous listener when
 * somebody asks for it.
 */
export class ListenerEntry {
	declare readonly phase: Phase;
	declare readonly fn: Listener;
	declare readonly timeout: number | undefined;
	/** 'waiting': its phase has come, but a listener it runs after (`after`) has not settled yet. */
	declare status: 'registered' | 'waiting' | 'running' | ListenerOutcome | 'removed';
	/**
	 * The run record, set when the listener is called: when (epoch ms), its timeout timer, and once it settled,
	 * how long it took and what it failed with. Fields of the entry rather than an object of their own, and set in
	 * the constructor rather than by field initializers: calling thousands of listeners allocates nothing here.
	 * Each starts as undefined, so that V8 keeps it as a tagged field: a duration that started as the integer 0
	 * and became a fraction-free double (what `Date.now() - startedAt` is) changed the field's representation,
	 * which made V8 rewrite every registered entry once, at the signal (1000 + 1000 listeners: about 1.2 ms of the exit).
	 */
	declare startedAt: number | undefined;
	declare timer: ReturnType<typeof setTimeout> | undefined;
	declare durationMs: number | undefined;
	declare error: unknown;
	/** `wait.remove`, made when first asked for (most listeners are never removed). */
	declare remover: (() => boolean) | undefined;
	/** Made when the listener's signal is first read, or when it is aborted. */
	declare abortState: AbortState | undefined;
	/** The name, or for an anonymous listener its number in its phase (`wrap-up#3` is made when first needed). */
	#name: string | number;
	/**
	 * undefined: nobody waits and it has not settled; a Waiter: somebody called wait(); null or a Failure: it was
	 * fulfilled or failed before anybody waited.
	 */
	#wait: Waiter | Failure | null | undefined = undefined;

	constructor(phase: Phase, fn: Listener, timeout: number | undefined, name: string | number) {
		this.phase = phase;
		this.fn = fn;
		this.timeout = timeout;
		this.status = 'registered';
		this.startedAt = undefined;
		this.timer = undefined;
		this.durationMs = undefined;
		this.error = undefined;
		this.remover = undefined;
		this.abortState = undefined;
		this.#name = name;
	}

	get name(): string {
		const name = this.#name;
		if (typeof name === 'string') return name;
		return (this.#name = `${this.phase}#${name}`);
	}

	/** `ctx.signal`. */
	get signal(): AbortSignal {
		return (this.abortState ??= new AbortState()).signal;
	}

	/** Aborts `ctx.signal` (a timeout). */
	abort(reason: unknown): void {
		(this.abortState ??= new AbortState()).abort(reason);
	}

	/** What `ctx.signal` aborted (or will abort) with. */
	get abortReason(): unknown {
		return this.abortState?.reason;
	}

	/** What `wait()` returns. */
	promise(): Promise<void> {
		const wait = this.#wait;
		if (wait instanceof Waiter) return wait.promise;
		const waiter = new Waiter(wait, this);
		this.#wait = waiter;
		return waiter.promise;
	}

	/** Settles `wait()`; only the first settlement counts. */
	fulfil(): void {
		const wait = this.#wait;
		if (wait === undefined) {
			this.#wait = null;
		} else if (wait instanceof Waiter && wait.resolve !== undefined) {
			const resolve = wait.resolve;
			wait.resolve = wait.reject = undefined;
			resolve();
		}
	}

	fail(error: unknown): void {
		const wait = this.#wait;
		if (wait === undefined) this.#wait = new Failure(error);
		else if (wait instanceof Waiter) this.#reject(wait, error);
	}

	/** Like fail(), but the error (and its stack trace) is made only if somebody waits. */
	failLazily(failure: Failure): void {
		const wait = this.#wait;
		if (wait === undefined) this.#wait = failure;
		else if (wait instanceof Waiter && wait.reject !== undefined) this.#reject(wait, failure.errorFor(this));
	}

	/** Removed before it was called: `wait()` rejects with ListenerRemovedError. Removal is common: no allocation. */
	removed(): void {
		this.failLazily(REMOVED);
	}

	/** Forced while running: its signal aborts and its `wait()` rejects, with one error, made only if somebody looks. */
	forceQuit(makeError: () => unknown): void {
		clearTimeout(this.timer);
		(this.abortState ??= new AbortState()).abortLazily(makeError);
		this.failLazily(FORCED_WHILE_RUNNING);
	}

	#reject(wait: Waiter, error: unknown): void {
		const reject = wait.reject;
		if (reject === undefined) return;
		wait.resolve = wait.reject = undefined;
		reject(error);
	}
}

/** Passed to a wait function, it hands back its entry; any other argument gets the promise. Never leaves this module. */
const kEntry = Symbol('graceful-proc.entry');
/** The prototypes of wait functions made here, so that a wait function is known without calling a stranger. */
const waitPrototypes = new WeakSet<object>();

/** The entry behind a wait function made by this copy of the package (any proc's); undefined for anything else. */
export function entryOfWait(wait: unknown): ListenerEntry | undefined {
	if (typeof wait !== 'function' || !waitPrototypes.has(Object.getPrototypeOf(wait) as object)) return undefined;
	const entry: unknown = wait(kEntry);
	return entry instanceof ListenerEntry ? entry : undefined;
}

/**
 * Makes one proc's wait functions. Each is its target bound to an entry: a bound function holds the entry and
 * nothing else (no closure context, no own properties), and takes its prototype from its target, so `remove`
 * and `listenerName` live once, as getters on a prototype that inherits from Function.prototype. `wait.remove`
 * hands out the listener's own remove function, made the first time it is asked for, so that it also works
 * taken off the wait function (`setTimeout(wait.remove)`, `const { remove } = wait`), as a closure would.
 */
export function waitFunctions(removeEntry: (entry: ListenerEntry) => boolean): (entry: ListenerEntry) => WaitFunction {
	const entryOf = (wait: unknown, member: string): ListenerEntry => {
		if (typeof wait === 'function' && Object.getPrototypeOf(wait) === prototype) {
			const entry: unknown = wait(kEntry);
			if (entry instanceof ListenerEntry) return entry;
		}
		throw new TypeError(expected('this', `a wait function (\`${member}\` is read from one)`, wait));
	};
	function remove(this: ListenerEntry): boolean {
		return removeEntry(this);
	}
	// On the prototype they are not enumerable, like a class's members.
	const members = {
		get remove(): () => boolean {
			const entry = entryOf(this, 'remove');
			return (entry.remover ??= remove.bind(entry));
		},
		get listenerName(): string {
			return entryOf(this, 'listenerName').name;
		},
	};
	const prototype: object = Object.create(Function.prototype);
	waitPrototypes.add(prototype);
	for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(members))) {
		Object.defineProperty(prototype, key, { ...descriptor, enumerable: false });
	}
	// `key` has a default so that `wait.length` stays 0, as for `(): Promise<void>`.
	function wait(this: ListenerEntry, key: unknown = undefined): unknown {
		return key === kEntry ? this : this.promise();
	}
	Object.setPrototypeOf(wait, prototype);
	return (entry) => wait.bind(entry) as WaitFunction;
}

/** The entry behind a ctx: a symbol, not a private field, whose definition on each of thousands of calls costs twice. */
const kListener = Symbol('graceful-proc.listener');

/**
 * What a listener receives. A class rather than an object literal with a getter: one shape shared by every
 * call, and `signal` (an AbortController) is made only if the listener reads it. Set in the constructor rather
 * than by field initializers, which cost a call of their own on each of thousands of listeners.
 */
export class ListenerContextImpl implements ListenerContext {
	declare readonly reason: unknown;
	declare readonly deadline: number;
	declare readonly [kListener]: ListenerEntry;

	constructor(reason: unknown, deadline: number, entry: ListenerEntry) {
		this.reason = reason;
		this.deadline = deadline;
		this[kListener] = entry;
	}

	get signal(): AbortSignal {
		return this[kListener].signal;
	}

	/** console.log(ctx) shows what a listener may read, not the entry behind it. */
	[Symbol.for('nodejs.util.inspect.custom')](): object {
		return { reason: this.reason, deadline: this.deadline };
	}
}
