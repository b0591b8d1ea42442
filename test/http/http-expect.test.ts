// Requests that node hands to 'checkContinue' or 'checkExpectation' listeners instead of 'request' are
// drained like any other (issue 17): in-process, real sockets, a raw client that sends its body late.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/index.js';
import { drain } from '../../src/http/index.js';
import { createFakeProcess } from '../../src/testing.js';
import { rawClient } from '../helpers/raw-client.js';
import { listenOnLoopback } from '../helpers/loopback.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
	for (const fn of cleanup.splice(0)) fn();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isolatedProc = () => createProc({ process: createFakeProcess(), exit: false, logger: false });

/** Reads the whole body, then answers with it. */
function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
	let body = '';
	req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
	req.on('end', () => res.end(`got ${body}\n`));
}


describe('a request with `Expect: 100-continue` handled by a checkContinue listener', () => {
	it('gets its answer when its body comes 700 ms into the shutdown (past idleGrace)', async () => {
		const proc = isolatedProc();
		const server = http.createServer(echo);
		server.on('checkContinue', (req, res) => {
			res.writeContinue();
			echo(req, res);
		});
		const port = await listenOnLoopback(server, cleanup);
		drain(server, { proc });
		const client = await rawClient(port, cleanup);
		client.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
		await client.waitFor('HTTP/1.1 100 Continue\r\n\r\n');
		const shutdown = proc.shutdown();
		await sleep(700);
		client.socket.write('hello');
		await client.closed;
		expect(client.received()).toMatch(/HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n[\s\S]*got hello\n$/);
		expect((await shutdown).outcome).toBe('clean');
	});
});

describe('a request with another expectation handled by a checkExpectation listener', () => {
	it('that takes 1.2 s is answered', async () => {
		const proc = isolatedProc();
		const server = http.createServer(echo);
		server.on('checkExpectation', (req, res) => {
			req.resume();
			setTimeout(() => res.end('expected\n'), 1200);
		});
		const port = await listenOnLoopback(server, cleanup);
		drain(server, { proc });
		const client = await rawClient(port, cleanup);
		client.socket.write('GET /check HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n');
		await sleep(50);
		const shutdown = proc.shutdown();
		await client.closed;
		expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n[\s\S]*expected\n$/);
		expect((await shutdown).outcome).toBe('clean');
	});
});

describe('drain() listens to checkContinue and checkExpectation only alongside the application', () => {
	it('so that node goes on answering expectations itself on a server without such listeners', async () => {
		const proc = isolatedProc();
		const server = http.createServer(echo);
		const port = await listenOnLoopback(server, cleanup);
		const wait = drain(server, { proc });
		expect(server.listenerCount('checkContinue')).toBe(0);
		expect(server.listenerCount('checkExpectation')).toBe(0);
		const client = await rawClient(port, cleanup);
		client.socket.write('POST /auto HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n');
		await client.waitFor('100 Continue');
		client.socket.write('ok');
		await client.waitFor('got ok\n');
		// Added later: followed from then on, and removed with it.
		const listener = (req: http.IncomingMessage, res: http.ServerResponse) => echo(req, res);
		server.on('checkContinue', listener);
		expect(server.listenerCount('checkContinue')).toBe(2);
		server.off('checkContinue', listener);
		expect(server.listenerCount('checkContinue')).toBe(0);
		wait.remove();
	});
});
