// A real parent process (test/fixtures/supervise-parent.mjs, on the built package) supervising real children:
// run `npm run build` first.
import { describe, expect, it } from 'vitest';
import { type Child, fixture, startNode } from '../helpers/child.js';
import { commandLine, descendants, isRunning, killLeftoversAfterEach, waitUntilGone } from '../helpers/supervise.js';

interface ChildSpec {
	name: string;
	script: string;
	args?: string[];
	killGroup?: boolean;
	watchdog?: boolean;
	stopTimeout?: number;
}

const linux = process.platform === 'linux';
const leftovers = killLeftoversAfterEach();

/** Starts the parent and waits until it says every child is running and each child says it is ready; returns the pids. */
async function startParent(children: ChildSpec[]) {
	const parent = startNode(fixture('supervise-parent.mjs'), [JSON.stringify({ children })]);
	const [, list] = await parent.waitFor(/^ready (.+)$/);
	const pids = Object.fromEntries(
		list!
			.split(' ')
			.map((pair) => pair.split('='))
			.map(([name, pid]) => [name!, Number(pid)]),
	);
	leftovers.push(...Object.values(pids));
	// 'running' only means up for startSecs; each child's own line says its signal handlers are installed.
	await Promise.all(children.map((child) => parent.waitFor(new RegExp(`^\\[${child.name}\\] ready`))));
	return { parent, pids };
}

async function grandchildOf(parent: Child, name: string): Promise<number> {
	const [, pid] = (await parent.waitFor(new RegExp(`^\\[${name}\\] grandchild (\\d+)$`)))!;
	leftovers.push(Number(pid));
	return Number(pid);
}

/** Every process below the parent, read from /proc (Linux), including the watchdog. */
function tree(parent: Child, expected: number[]): number[] {
	const found = descendants(parent.process.pid!);
	if (linux) expect(found).toEqual(expect.arrayContaining(expected));
	leftovers.push(...found);
	return [...new Set([...found, ...expected])];
}

describe('a SIGTERM to the parent takes the whole tree down', () => {
	it('stops every child gracefully, exits 0 and leaves no process behind', async () => {
		const { parent, pids } = await startParent([
			{ name: 'g', script: 'supervise-graceful.mjs' },
			{ name: 's', script: 'supervise-spawner.mjs', killGroup: true },
		]);
		const grandchild = await grandchildOf(parent, 's');
		const everything = tree(parent, [pids.g!, pids.s!, grandchild]);
		// g, s, the grandchild and the watchdog.
		if (linux) expect(everything).toHaveLength(4);

		parent.process.kill('SIGTERM');
		expect(await parent.closed).toEqual([0, null]);
		expect(parent.stdout).toContain('[g] stopping SIGTERM');
		expect(parent.stdout).toContain('[g] cleaned');
		expect(parent.stdout).toContain('state s exited');
		expect(await waitUntilGone(everything)).toEqual([]);
	});
});

describe('when the parent dies hard, the watchdog stops its children', () => {
	it('stops the children, their grandchildren and then itself after the parent is SIGKILLed', async () => {
		const { parent, pids } = await startParent([
			{ name: 'g', script: 'supervise-graceful.mjs' },
			{ name: 's', script: 'supervise-spawner.mjs', killGroup: true },
			{ name: 'x', script: 'supervise-stubborn.mjs', stopTimeout: 500 },
		]);
		const grandchild = await grandchildOf(parent, 's');
		const everything = tree(parent, [pids.g!, pids.s!, pids.x!, grandchild]);
		if (linux) expect(everything.filter((pid) => commandLine(pid).includes(' -e '))).toHaveLength(2); // watchdog, grandchild

		parent.process.kill('SIGKILL');
		expect(await parent.closed).toEqual([null, 'SIGKILL']);
		// x ignores SIGTERM: it goes at its stopTimeout (500 ms), the rest at once.
		expect(await waitUntilGone(everything, 10_000)).toEqual([]);
	});

	it('stops the children after the parent crashed on an uncaught exception', async () => {
		const { parent, pids } = await startParent([{ name: 'g', script: 'supervise-graceful.mjs' }]);
		parent.process.kill('SIGUSR2');
		expect(await parent.closed).toEqual([1, null]);
		expect(parent.stderr()).toMatch(/Error: crash on SIGUSR2/);
		expect(await waitUntilGone([pids.g!])).toEqual([]);
	});

	it('without the watchdog, only a child that calls exitWithParent() ends itself', async () => {
		const { parent, pids } = await startParent([
			{ name: 'e', script: 'supervise-exit-with-parent.mjs', watchdog: false },
			{ name: 'g', script: 'supervise-graceful.mjs', watchdog: false },
		]);
		if (linux) expect(descendants(parent.process.pid!).sort()).toEqual([pids.e!, pids.g!].sort());

		parent.process.kill('SIGKILL');
		await parent.closed;
		expect(await waitUntilGone([pids.e!])).toEqual([]);
		// The other one has nobody to stop it: this is the orphan that the watchdog exists for.
		expect(isRunning(pids.g!)).toBe(true);
	});
});
