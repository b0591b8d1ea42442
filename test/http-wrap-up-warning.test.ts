import { once } from 'node:events';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../src/index.js';
import { drain } from '../src/http/index.js';
import { createFakeProcess } from '../src/testing.js';

const servers: http.Server[] = [];
async function listening(): Promise<http.Server> {
	const server = http.createServer((req, res) => res.end('ok'));
	servers.push(server);
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	return server;
}

function collectWarnings() {
	const warnings: Error[] = [];
	const onWarning = (warning: Error) => warnings.push(warning);
	process.on('warning', onWarning);
	return { warnings, stop: () => process.off('warning', onWarning) };
}

afterEach(() => {
	for (const server of servers.splice(0)) server.close();
});

describe('a drain delay that timeToWrapUp would cut short is called out', () => {
	it('says nothing when timeToWrapUp is longer than the delay', async () => {
		const { warnings, stop } = collectWarnings();
		const proc = createProc({ process: createFakeProcess(), exit: false, timeToWrapUp: 6000 });
		drain(await listening(), { delay: 5000, proc });
		void proc.shutdown();
		await new Promise((resolve) => setImmediate(resolve));
		stop();
		expect(warnings.filter((w) => (w as { code?: string }).code === 'GRACEFUL_PROC_WRAP_UP_BEFORE_DRAIN')).toEqual([]);
	});

	it('says nothing when drain() is called before the time is raised', async () => {
		const { warnings, stop } = collectWarnings();
		const proc = createProc({ process: createFakeProcess(), exit: false });
		drain(await listening(), { delay: 5000, proc });
		proc.setTimeToWrapUp(8000);
		void proc.shutdown();
		await new Promise((resolve) => setImmediate(resolve));
		stop();
		expect(warnings.filter((w) => (w as { code?: string }).code === 'GRACEFUL_PROC_WRAP_UP_BEFORE_DRAIN')).toEqual([]);
	});

	it('warns once when shutdown starts, naming the server, the delay and timeToWrapUp, when the delay is not shorter', async () => {
		const { warnings, stop } = collectWarnings();
		const proc = createProc({ process: createFakeProcess(), exit: false });
		drain(await listening(), { delay: 5000, proc, name: 'api' });
		drain(await listening(), { delay: 5000, proc, name: 'admin' });
		expect(warnings).toEqual([]);
		void proc.shutdown();
		await new Promise((resolve) => setImmediate(resolve));
		stop();
		const ours = warnings.filter((w) => (w as { code?: string }).code === 'GRACEFUL_PROC_WRAP_UP_BEFORE_DRAIN');
		expect(ours).toHaveLength(1);
		expect(ours[0]!.message).toMatch(/`api` drains with a delay of 5000 ms, but timeToWrapUp is 1000 ms/);
	});
});
