import { spawnSync } from 'node:child_process';
import { delimiter } from 'node:path';

/** A node binary the runtime-flag tests run on, with what it calls its flags. */
export interface TestNode {
	readonly path: string;
	readonly version: string;
	readonly major: number;
	/** `--permission`, or `--experimental-permission` where that is its only name (Node 20). */
	readonly permissionFlag: string;
	/** Whether it has `--allow-inspector` (Node 24 and later). */
	readonly hasAllowInspector: boolean;
}

/**
 * The node binaries to run the runtime-flag tests on: those listed in GRACEFUL_PROC_TEST_NODES (paths separated
 * by the platform's path delimiter, `:` on Linux), else only the node running the tests. CI runs the whole
 * suite on each supported Node, so it needs no list; a developer can try all of them in one run.
 */
export function testNodes(): TestNode[] {
	const listed = (process.env.GRACEFUL_PROC_TEST_NODES ?? '').split(delimiter).filter((path) => path !== '');
	return (listed.length > 0 ? listed : [process.execPath]).map(describeNode);
}

function describeNode(path: string): TestNode {
	const probe = spawnSync(
		path,
		['-p', `const f = process.allowedNodeEnvironmentFlags; JSON.stringify([process.version, f.has('--permission'), f.has('--allow-inspector')])`],
		{ encoding: 'utf8' },
	);
	if (probe.status !== 0) throw new Error(`GRACEFUL_PROC_TEST_NODES: cannot run ${path}: ${probe.error?.message ?? probe.stderr}`);
	const [version, permission, allowInspector] = JSON.parse(probe.stdout) as [string, boolean, boolean];
	return {
		path,
		version,
		major: Number(/^v(\d+)/.exec(version)![1]),
		permissionFlag: permission ? '--permission' : '--experimental-permission',
		hasAllowInspector: allowInspector,
	};
}
