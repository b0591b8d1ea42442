// Importing `graceful-proc/http` opens nothing: node:http and node:http2 are taken from the runtime when first
// needed, since loading them is what makes Node open its stderr pipe (node:http2 on Node 20, an ESM import of
// node:http on Node 22 and later).
import { describe, it } from 'vitest';
import { fixture, startNode } from '../helpers/child.js';

const entries = ['graceful-proc', 'graceful-proc/http', 'graceful-proc/health', 'graceful-proc/supervise', 'graceful-proc/testing', 'graceful-proc/fastify', 'graceful-proc/nest'];
const cases = entries.flatMap((entry) => [
	[entry, 'import'],
	[entry, 'require'],
]);

describe('importing an entry of graceful-proc creates no handle, with stdout and stderr as pipes', () => {
	it.concurrent.for(cases)('%s by %s', async ([entry, how], { expect }) => {
		const child = startNode(fixture('http-import-handles.mjs'), [how!, entry!]);
		expect(await child.closed).toEqual([0, null]);
		const { before, after } = JSON.parse(child.stdout[0]!);
		expect(after).toEqual(before);
	});
});
