import type { HealthTicker } from '../../src/health/index.js';

/** A check that settles only when told to, or when its signal aborts (as a well-behaved check does). */
export function controllableCheck() {
	const calls: AbortSignal[] = [];
	let settle: ((error?: Error) => void) | undefined;
	const check = (signal: AbortSignal) => {
		calls.push(signal);
		return new Promise<void>((resolve, reject) => {
			settle = (error) => (error ? reject(error) : resolve());
			signal.addEventListener('abort', () => reject(signal.reason), { once: true });
		});
	};
	return {
		check,
		calls,
		pass: () => settle?.(),
		fail: (message = 'down') => settle?.(new Error(message)),
	};
}

/** Stops every ticker a test created, even when the test failed half-way. */
export function tickerJar() {
	const tickers: HealthTicker[] = [];
	return {
		track<T extends HealthTicker>(ticker: T): T {
			tickers.push(ticker);
			return ticker;
		},
		async stopAll() {
			await Promise.all(tickers.splice(0).map((ticker) => ticker.stop()));
		},
	};
}
