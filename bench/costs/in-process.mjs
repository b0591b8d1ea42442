// drainSignal(req)'s own cost per request, in-process where the rest of the machine weighs least: node's 'request'
// event on a real http server, a handler that asks for the request's signal and reads it, then the response's
// 'finish' and 'close', as node emits them. Prints JSON: CPU nanoseconds per request, median of 9 batches per
// setup, setups interleaved batch by batch.
import http from 'node:http';
import net from 'node:net';
import { createProc } from 'graceful-proc';
import { drain, drainSignal } from 'graceful-proc/http';

const REQUESTS = Number(process.env.REQUESTS ?? 100_000);
const BATCHES = 9;
const noop = () => {};
const asks = (req) => {
	if (drainSignal(req).aborted) throw new Error('aborted');
};

async function make({ drained, handler }) {
	const server = http.createServer(handler);
	server.listen(0, '127.0.0.1');
	await new Promise((resolve) => server.once('listening', resolve));
	if (drained) drain(server, { proc: createProc({ exit: false, logger: false, signals: ['SIGUSR2'] }) });
	const socket = new net.Socket();
	server.emit('connection', socket);
	return { server, socket };
}

/** One keep-alive connection carrying REQUESTS requests, one after the other. */
function batch({ server, socket }) {
	// CPU time, not wall time: on a shared machine the process is descheduled for whole time slices.
	const started = process.cpuUsage();
	for (let i = 0; i < REQUESTS; i++) {
		const request = new http.IncomingMessage(socket);
		request.httpVersionMajor = 1;
		request.method = 'GET';
		const response = new http.ServerResponse(request);
		// node's own 'finish' listener, which a real response always has.
		response.on('finish', noop);
		server.emit('request', request, response);
		response.emit('finish');
		response.emit('close');
	}
	const { user, system } = process.cpuUsage(started);
	return ((user + system) * 1000) / REQUESTS;
}

const setups = {
	bare: await make({ drained: false, handler: noop }),
	drain: await make({ drained: true, handler: noop }),
	'drain+drainSignal': await make({ drained: true, handler: asks }),
	'undrained+drainSignal': await make({ drained: false, handler: asks }),
};
const times = Object.fromEntries(Object.keys(setups).map((key) => [key, []]));
for (let round = 0; round < BATCHES; round++) for (const [key, setup] of Object.entries(setups)) times[key].push(batch(setup));
for (const { server, socket } of Object.values(setups)) {
	socket.destroy();
	server.close();
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
console.log(JSON.stringify(Object.fromEntries(Object.entries(times).map(([key, list]) => [key, median(list)]))));
