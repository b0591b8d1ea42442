// The realtime service of bench/realtime.bench.js: Express with Server-Sent Events on /events and `ws` WebSockets on
// /ws, shut down on SIGTERM the way a user of each library would set it up.
//   node service.mjs <graceful-proc | terminus | http-terminator | server.close() | server.close() alone>
// Prints `ready <port>` once listening.
import { createRequire } from 'node:module';
import express from 'express';
import { WebSocketServer } from 'ws';
import { proc } from 'graceful-proc';
import { drainSignal, serve } from 'graceful-proc/http';

const require = createRequire(import.meta.url);
const variant = process.argv[2];
const app = express();

/** What the peers' users write: every stream ended at once, SSE with its last event, WebSockets with 1001. */
const streams = new Set();
function endEveryStream() {
	for (const end of streams) end();
}

app.get('/events', (req, res) => {
	res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
	res.write('retry: 3000\ndata: hello\n\n');
	const end = () => {
		streams.delete(end);
		res.end('event: bye\ndata: reconnect\n\n');
	};
	streams.add(end);
	res.on('close', () => streams.delete(end));
	if (variant === 'graceful-proc') drainSignal(req).addEventListener('abort', end);
});

function attachWs(server) {
	const wss = new WebSocketServer({ server, path: '/ws' });
	wss.on('connection', (ws, req) => {
		ws.send('hello');
		const end = () => {
			streams.delete(end);
			ws.close(1001, 'going away');
		};
		streams.add(end);
		ws.on('close', () => streams.delete(end));
		if (variant === 'graceful-proc') drainSignal(req).addEventListener('abort', end);
	});
}

async function listen() {
	const server = app.listen(0, '127.0.0.1');
	await new Promise((resolve) => server.once('listening', resolve));
	attachWs(server);
	return server;
}

let server;
switch (variant) {
	case 'graceful-proc': {
		proc.configure({ logger: false });
		// Defaults: no delay (nothing to take the instance out of rotation here), the default spread of 10 s.
		({ server } = await serve(app, { port: 0, host: '127.0.0.1' }));
		attachWs(server);
		break;
	}
	case 'terminus': {
		const { createTerminus } = require('@godaddy/terminus');
		server = await listen();
		createTerminus(server, {
			signals: ['SIGTERM'],
			// Runs before the server stops; onSignal would come after it has already cut the sockets.
			beforeShutdown: async () => endEveryStream(),
			timeout: 1000,
		});
		break;
	}
	case 'http-terminator': {
		const { createHttpTerminator } = require('http-terminator');
		server = await listen();
		const terminator = createHttpTerminator({ server });
		process.once('SIGTERM', async () => {
			endEveryStream();
			await terminator.terminate();
			process.exit(0);
		});
		break;
	}
	case 'server.close()': {
		server = await listen();
		process.once('SIGTERM', () => {
			endEveryStream();
			server.close(() => process.exit(0));
		});
		break;
	}
	case 'server.close() alone': {
		server = await listen();
		process.once('SIGTERM', () => server.close(() => process.exit(0)));
		break;
	}
	default:
		throw new Error(`unknown variant ${variant}`);
}
process.stdout.write(`ready ${server.address().port}\n`);
