import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import type { ProcessLike } from '../../src/types.js';

/**
 * A process-like object whose `exitCode` is the application's, as on the real `process`: the app may set it
 * before the sequence exits, and `exited` resolves with the code given to `exit()`. (The testing kit's fake
 * uses `exitCode` for how it exited, so it cannot show a code the application set beforehand.)
 */
export class AppProcess extends EventEmitter implements ProcessLike {
	readonly pid = 4343;
	readonly platform = process.platform;
	exitCode: number | string | undefined;
	readonly exited: Promise<number>;
	exits = 0;
	#resolve!: (code: number) => void;

	constructor(exitCode?: number | string) {
		super();
		this.exitCode = exitCode;
		this.exited = new Promise((resolve) => {
			this.#resolve = resolve;
		});
	}

	/** Delivers the signal, or, with nobody listening, dies of it as Node would (128 + its number). */
	kill(pidOrSignal: number | string, maybeSignal?: string | number): boolean {
		const name = String(typeof pidOrSignal === 'number' ? (maybeSignal ?? 'SIGTERM') : pidOrSignal);
		if (this.listenerCount(name) > 0) this.emit(name, name);
		else this.#resolve(128 + ((constants.signals as Record<string, number>)[name] ?? 0));
		return true;
	}

	exit(code?: number): void {
		this.exits += 1;
		this.#resolve(code ?? Number(this.exitCode ?? 0));
	}
}
