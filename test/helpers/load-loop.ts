// Keep-alive load for the recipes' tests: a few connections, each sending one request after the other, every
// request with a path of its own (`/r/<connection>-<n>`), so that a test can match each answer with what the
// server did for it (a span, a log line). A connection's loop ends at its first failure (after the drain, the
// server refuses new connections) or when stopped.
import http from 'node:http';

export interface LoadLoop {
	/** Requests answered in full, in the order the answers ended. */
	readonly answered: Array<{ path: string; status: number; at: number }>;
	/** Requests that got no full answer, with the error's code. */
	readonly failed: Array<{ path: string; code: string }>;
	/** Resolves once `n` requests have been answered (a handshake: the load runs). */
	answeredAtLeast(n: number): Promise<void>;
	/** Ends every loop after its request in flight; resolves when they have all ended. */
	stop(): Promise<void>;
	/** Resolves when every loop has ended by itself (its first failure) or was stopped. */
	readonly done: Promise<void>;
}

function get(agent: http.Agent, port: number, path: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
			res.resume();
			res.on('end', () => (res.complete ? resolve(res.statusCode ?? 0) : reject(Object.assign(new Error('response cut'), { code: 'CUT' }))));
			res.on('error', reject);
		});
		req.on('error', reject);
	});
}

export function startLoadLoop(port: number, { connections = 4 }: { connections?: number } = {}): LoadLoop {
	const answered: LoadLoop['answered'] = [];
	const failed: LoadLoop['failed'] = [];
	let stopped = false;
	const waiters: Array<{ n: number; resolve: () => void }> = [];
	const loops = Array.from({ length: connections }, async (_, c) => {
		const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
		try {
			for (let n = 0; !stopped; n++) {
				const path = `/r/${c}-${n}`;
				try {
					const status = await get(agent, port, path);
					answered.push({ path, status, at: Date.now() });
					for (const waiter of [...waiters]) {
						if (answered.length >= waiter.n) {
							waiters.splice(waiters.indexOf(waiter), 1);
							waiter.resolve();
						}
					}
				} catch (error) {
					failed.push({ path, code: (error as { code?: string }).code ?? String(error) });
					return;
				}
			}
		} finally {
			agent.destroy();
		}
	});
	const done = Promise.all(loops).then(() => {});
	return {
		answered,
		failed,
		done,
		answeredAtLeast(n) {
			if (answered.length >= n) return Promise.resolve();
			return new Promise((resolve, reject) => {
				waiters.push({ n, resolve });
				void done.then(() => reject(new Error(`the load ended after ${answered.length} answers, before ${n}: ${JSON.stringify(failed)}`)));
			});
		},
		stop() {
			stopped = true;
			return done;
		},
	};
}
