// One HTTP server that shuts down on SIGTERM the way `peer` does, for bench/http.bench.js.
// Usage: node bench/http/peer-server.mjs <peer>; prints `ready <port>` once its shutdown handling is installed,
// and a JSON line {"seen":[ids]} (the request ids it read) when its shutdown is done, just before exiting.
import http from 'node:http';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const [peer = 'graceful-proc'] = process.argv.slice(2);
const seen = [];
const FORCE_MS = 10_000;

const server = http.createServer(async (req, res) => {
	if (req.url === '/__cpu') {
		// CPU time the process has used, in µs: per request, the cost of serving it, whatever else the machine does.
		const { user, system } = process.cpuUsage();
		res.end(JSON.stringify({ cpu: user + system }));
		return;
	}
	if (req.url === '/') {
		res.end('ok\n');
		return;
	}
	const url = new URL(req.url, 'http://x');
	const id = url.searchParams.get('id');
	if (id) seen.push(id);
	const ms = Number(url.searchParams.get('ms') ?? 0);
	if (url.pathname === '/stream') {
		// The headers go out first (keep-alive), the body after the wait.
		res.writeHead(200, { 'content-type': 'text/plain' });
		res.write('ok ');
		await sleep(ms);
		res.end('done\n');
		return;
	}
	if (ms > 0) await sleep(ms);
	res.setHeader('content-type', 'text/plain');
	res.end('ok\n');
});
server.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));

const printSeen = () => process.stdout.write(`${JSON.stringify({ seen })}\n`);

switch (peer) {
	case 'graceful-proc': {
		const { proc } = await import('graceful-proc');
		const { drain } = await import('graceful-proc/http');
		proc.configure({ timeToForceQuit: FORCE_MS, logger: false, onReport: printSeen });
		drain(server);
		break;
	}
	case 'bare':
		// Throughput baseline: no shutdown handling at all.
		break;
	case 'http-terminator': {
		const { createHttpTerminator } = require('http-terminator');
		const terminator = createHttpTerminator({ server, gracefulTerminationTimeout: FORCE_MS });
		process.once('SIGTERM', async () => {
			await terminator.terminate();
			printSeen();
			process.exit(0);
		});
		break;
	}
	case 'stoppable': {
		const stoppable = require('stoppable');
		stoppable(server, FORCE_MS);
		process.once('SIGTERM', () =>
			server.stop(() => {
				printSeen();
				process.exit(0);
			}),
		);
		break;
	}
	case 'http-graceful-shutdown': {
		const gracefulShutdown = require('http-graceful-shutdown');
		gracefulShutdown(server, { signals: 'SIGTERM', timeout: FORCE_MS, forceExit: true, finally: printSeen });
		break;
	}
	case '@godaddy/terminus': {
		const { createTerminus } = require('@godaddy/terminus');
		createTerminus(server, { signals: ['SIGTERM'], timeout: FORCE_MS, onShutdown: async () => printSeen() });
		break;
	}
	case 'server.close()':
		process.once('SIGTERM', () =>
			server.close(() => {
				printSeen();
				process.exit(0);
			}),
		);
		break;
	default:
		throw new Error(`unknown peer ${peer}`);
}
process.stdout.write(`ready ${server.address().port}\n`);
