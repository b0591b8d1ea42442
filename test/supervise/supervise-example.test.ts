// examples/worker, run as a user would (`node examples/worker/main.js`, on the built package).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startNode } from '../helpers/child.js';
import { killLeftoversAfterEach, waitUntilGone } from '../helpers/supervise.js';

const main = fileURLToPath(new URL('../../examples/worker/main.js', import.meta.url));
const leftovers = killLeftoversAfterEach();

describe('the worker example', () => {
	it('restarts a crashed worker, and on SIGTERM lets it finish its job and exits 0', async () => {
		const service = startNode(main, [], { env: { CRASH_AFTER: '2' } });
		const [, first] = (await service.waitFor(/^\[worker\] consuming \(pid (\d+)\)$/))!;
		leftovers.push(Number(first));
		await service.waitFor(/^\[main\] worker exited with code 1/);
		const [, second] = (await service.waitFor(/^\[main\] worker backoff -> starting \(pid (\d+)\)$/))!;
		leftovers.push(Number(second));
		// The new worker's own line: its signal handlers are installed.
		await service.waitFor(new RegExp(`^\\[worker\\] consuming \\(pid ${second}\\)$`));

		service.process.kill('SIGTERM');
		expect(await service.closed).toEqual([0, null]);
		expect(service.stdout).toContain('[main] worker stopping -> exited');
		expect(service.stdout.some((line) => /^\[worker\] stopped taking jobs after \d+; nothing left in hand$/.test(line)), service.stdout.join('\n')).toBe(true);
		expect(await waitUntilGone([Number(first), Number(second)])).toEqual([]);
	});
});
