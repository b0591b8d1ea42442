import { describe, expect, it } from 'vitest';
import { startNode } from '../helpers/child.js';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../fixtures/debug-child.mjs', import.meta.url));

describe('logging through debug under graceful-proc:*', () => {
	it('prints the sequence when DEBUG=graceful-proc:* is set', async () => {
		const child = startNode(script, [], { env: { DEBUG: 'graceful-proc:*' } });
		expect(await child.closed).toEqual([0, null]);
		expect(child.stderr()).toMatch(/graceful-proc:proc shutdown started/);
		expect(child.stderr()).toMatch(/graceful-proc:proc added wrap-up listener http/);
		expect(child.stderr()).toMatch(/graceful-proc:proc removed shutdown listener gone/);
		expect(child.stderr()).toMatch(/graceful-proc:proc wrap-up listener http finished/);
		expect(child.stdout).toContain('debug loaded: true');
	});

	it('prints nothing when DEBUG names only other namespaces', async () => {
		const child = startNode(script, [], { env: { DEBUG: 'other:*' } });
		expect(await child.closed).toEqual([0, null]);
		expect(child.stderr()).toBe('');
		expect(child.stdout).toContain('debug loaded: true');
	});

	it('does not even load debug when nothing asked for it', async () => {
		const child = startNode(script, [], { env: { DEBUG: '' } });
		expect(await child.closed).toEqual([0, null]);
		expect(child.stderr()).toBe('');
		expect(child.stdout).toContain('debug loaded: false');
	});
});
