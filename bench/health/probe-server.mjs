// The servers bench/health.bench.js loads with autocannon, in a process of their own so the load generator
// does not share their event loop. Prints one JSON line with the ports once everything is ready.
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTerminus } from '@godaddy/terminus';
import { createHealthTicker } from 'graceful-proc/health';

const BODY = '{"status":"ok"}';
const HEADERS = {
	'content-type': 'application/json; charset=utf-8',
	'cache-control': 'no-store',
	'content-length': String(Buffer.byteLength(BODY)),
};

/** What every server does for the app's own requests: the same answer, so only the probe path differs. */
function plain(_req, res) {
	res.writeHead(200, HEADERS);
	res.end(BODY);
}

function listen(server) {
	return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

const ports = {};

ports.plain = await listen(createServer(plain));

// graceful-proc: the check costs 2 ms of I/O, but probes read the cache.
const ticker = createHealthTicker({ checks: { db: () => sleep(2) }, interval: 5000, proc: false });
await ticker.check();
ports.ticker = await listen(createServer(ticker.handler));

// terminus runs its check on every probe request.
const instant = createServer(plain);
createTerminus(instant, { healthChecks: { '/readyz': async () => {} }, signals: [], logger: () => {} });
ports.terminusInstant = await listen(instant);

const io = createServer(plain);
createTerminus(io, { healthChecks: { '/readyz': () => sleep(2) }, signals: [], logger: () => {} });
ports.terminusIo = await listen(io);

console.log(JSON.stringify(ports));
// The parent ends this process (SIGKILL) when it is done.
setInterval(() => {}, 60_000);
