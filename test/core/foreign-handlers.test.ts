import { describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { fixture, reportOf, startNode } from '../helpers/child.js';

const script = fixture('foreign-handler-child.mjs');
const CODE = 'GRACEFUL_PROC_FOREIGN_HANDLER';

async function stopChild(env: NodeJS.ProcessEnv = {}) {
	const child = startNode(script, [], { env });
	await child.waitFor(/^ready$/);
	child.process.kill('SIGTERM');
	const closed = await child.closed;
	return { closed, stderr: child.stderr(), stdout: child.stdout, report: reportOf(child) };
}

describe('other handlers on the shutdown signals are named in a coded warning and in the report', () => {
	it('a NestJS-style handler added after ours is named at the trigger, with what it may do and how to move it', async () => {
		const { closed, stderr, report } = await stopChild();
		expect(closed).toEqual([0, null]);
		expect(stderr).toContain(`[${CODE}]`);
		expect(stderr).toMatch(/`nestShutdown` \(SIGTERM\)/);
		expect(stderr).toMatch(/`anonymous` \(SIGINT\)/);
		expect(stderr).toMatch(/close the server before the drain/);
		expect(stderr).toMatch(/addShutdownListener/);
		// Once: one warning for both.
		expect(stderr.split(CODE).length - 1).toBe(1);
		expect(report.foreignHandlers).toEqual([
			{ name: 'nestShutdown', signals: ['SIGTERM'] },
			{ name: 'anonymous', signals: ['SIGINT'] },
		]);
	});

	it('detection changes nothing: the other handler still runs', async () => {
		const { stdout } = await stopChild();
		expect(stdout).toContain('closed early');
	});

	it('a handler there before ours is named when ours are installed, and not again at the trigger', async () => {
		const child = startNode(script, [], { env: { EARLY: '1' } });
		await child.waitFor(/^ready$/);
		// Node prints a warning on the next tick; by `ready` (after listen) it is out.
		await expect.poll(() => child.stderr()).toMatch(/`nestShutdown` \(SIGTERM\)/);
		child.process.kill('SIGTERM');
		expect(await child.closed).toEqual([0, null]);
		const stderr = child.stderr();
		expect(stderr.match(/`nestShutdown`/g)).toHaveLength(1);
		// The SIGINT arrow came later: its own warning, at the trigger.
		expect(stderr.split(CODE).length - 1).toBe(2);
		expect(reportOf(child).foreignHandlers).toHaveLength(2);
	});

	it("foreignHandlers: 'ignore' silences the warning; the report still lists them", async () => {
		const { stderr, report } = await stopChild({ FOREIGN: 'ignore' });
		expect(stderr).not.toContain(CODE);
		expect(report.foreignHandlers.map((h: { name: string }) => h.name)).toEqual(['nestShutdown', 'anonymous']);
	});

	it('a list of names silences the warning for those handlers only', async () => {
		const { stderr } = await stopChild({ FOREIGN: 'allow' });
		expect(stderr).toContain(CODE);
		expect(stderr).not.toContain('nestShutdown');
		expect(stderr).toMatch(/`anonymous` \(SIGINT\)/);
	});

	it('with the testing kit: handlers on the fake process are named, ours are not', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false });
		fake.on('SIGTERM', function otelShutdown() {});
		proc.addShutdownListener(() => {}, { name: 'db' });
		// A second proc on the same process is graceful-proc's too.
		createProc({ process: fake, exit: false }).addShutdownListener(() => {});
		expect(fake.warnings.filter((w) => w.code === CODE).map((w) => w.message)).toEqual([expect.stringMatching(/`otelShutdown` \(SIGTERM\)/)]);
		fake.on('SIGINT', function late() {});
		const report = await proc.shutdown('test');
		expect(report.foreignHandlers).toEqual([
			{ name: 'otelShutdown', signals: ['SIGTERM'] },
			{ name: 'late', signals: ['SIGINT'] },
		]);
		expect(fake.warnings.filter((w) => w.code === CODE)).toHaveLength(2);
		expect(fake.warnings[1]!.message).toMatch(/`late`/);
		expect(fake.warnings[1]!.message).not.toMatch(/otelShutdown/);
	});

	it('a report without other handlers has no foreignHandlers field', async () => {
		const fake = createFakeProcess();
		const proc = createProc({ process: fake, exit: false, logger: false });
		proc.addShutdownListener(() => {});
		const report = await proc.shutdown();
		expect('foreignHandlers' in report).toBe(false);
		expect(fake.warnings).toEqual([]);
	});

	it('foreignHandlers is checked: a clear error naming it and the value', () => {
		const proc = createProc({ process: createFakeProcess() });
		expect(() => proc.configure({ foreignHandlers: 'quiet' as never })).toThrow(/Expected `options.foreignHandlers` to be 'warn', 'ignore' or an array of handler names, got `"quiet"` \(string\)/);
		expect(() => proc.configure({ foreignHandlers: ['ok', ''] })).toThrow(/`options.foreignHandlers\[1\]`/);
		expect(() => createProc({ process: createFakeProcess(), foreignHandlers: null as never })).toThrow(TypeError);
	});
});
