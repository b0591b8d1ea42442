#!/usr/bin/env node
// One replica of the service that roll.js restarts behind HAProxy.
//
//   node examples/rolling/service.js --port 0 --name s1 [--variant graceful|baseline] [--delay 1500]
//
// It writes `ready <port>` on stdout once it listens (the driver waits for that line, never for a fixed
// time), `first-request` when it serves its first request on `/` (behind nginx, which has no health checks,
// the sign that the proxy sends to it again), in the graceful variant `report <json>` with the shutdown report
// when it stops, and `stats <json>` as it exits: connections accepted, and how many of them after SIGTERM
// (each one opened while a replica stops accepting may be reset in its listen backlog).
//
// graceful: `serve()` from graceful-proc/http with a readiness `delay`, a health ticker whose /readyz turns
//           503 the moment SIGTERM arrives, a fake database pool closed in the shutdown phase, and
//           `timeToForceQuit` as the hard bound.
// baseline: the same app, but `process.on('SIGTERM', () => server.close())` and a /readyz that is always 200.
//
// Every number here is explained in docs/rolling.md ("Zero-downtime deploys").
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import express from 'express';

const { values: args } = parseArgs({
	options: {
		port: { type: 'string', default: '0' },
		host: { type: 'string', default: '127.0.0.1' },
		name: { type: 'string', default: 'replica' },
		variant: { type: 'string', default: 'graceful' },
		// Longer than HAProxy needs to see /readyz fail: inter + (fall - 1) * fastinter + a check (~0.5 s here).
		delay: { type: 'string', default: '1500' },
		// Upper bound for the whole shutdown; the orchestrator's kill (Kubernetes'
		// terminationGracePeriodSeconds) must come later than this.
		'time-to-force-quit': { type: 'string', default: '8000' },
		// The wrap-up phase (delay + draining) must end before the shutdown phase closes the pool that requests
		// still use. It ends as soon as draining is done, so a generous bound costs nothing.
		'time-to-wrap-up': { type: 'string', default: '7000' },
		// How long an idle keep-alive connection from HAProxy stays open; see tuneKeepAlive().
		'keep-alive-timeout': { type: 'string', default: '35000' },
	},
});

const variant = args.variant;
if (variant !== 'graceful' && variant !== 'baseline') {
	console.error(`Expected --variant to be graceful or baseline, got ${variant}`);
	process.exit(2);
}
const delay = Number(args.delay);
const timeToForceQuit = Number(args['time-to-force-quit']);
const timeToWrapUp = Math.min(Number(args['time-to-wrap-up']), timeToForceQuit);
const keepAliveTimeout = Number(args['keep-alive-timeout']);

/**
 * Stands in for a database pool: queries take a few milliseconds, and fail once the pool is closed. It makes
 * the order of shutdown visible: closing it before the last request has been served would turn requests into
 * 500s.
 */
function createPool() {
	let closed = false;
	return {
		async query() {
			if (closed) throw new Error('pool is closed');
			await sleep(2 + Math.random() * 6);
			if (closed) throw new Error('pool was closed during the query');
			return { rows: [{ ok: 1 }] };
		},
		async end() {
			closed = true;
		},
	};
}

const db = createPool();
const app = express();
app.disable('x-powered-by');
let served = 0;
// GET for the HAProxy roll; POST for the nginx roll, since nginx resends a failed GET to another replica by
// itself but never a POST it has already sent.
const handler = async (req, res) => {
	if (served++ === 0) process.stdout.write('first-request\n');
	try {
		const { rows } = await db.query();
		res.json({ replica: args.name, pid: process.pid, rows: rows.length, got: req.body?.n });
	} catch (error) {
		res.status(500).json({ error: String(error) });
	}
};
app.get('/', handler);
app.post('/', express.json(), handler);

// `connectionTimes`: when each of the first 100 connections after SIGTERM came, in ms after it.
const counts = { connections: 0, connectionsAfterSigterm: 0, requests: 0, requestsAfterSigterm: 0, connectionTimes: [] };
let sigtermAt = 0;
// Open connections and requests not yet answered, for the `closing` line of the baseline.
let open = 0;
let inFlight = 0;
process.prependListener('SIGTERM', () => {
	sigtermAt = Date.now();
});
function count(server) {
	server.on('connection', (socket) => {
		open += 1;
		socket.once('close', () => (open -= 1));
		counts.connections += 1;
		if (sigtermAt) {
			counts.connectionsAfterSigterm += 1;
			if (counts.connectionTimes.length < 100) counts.connectionTimes.push(Date.now() - sigtermAt);
		}
	});
	server.on('request', (req, res) => {
		inFlight += 1;
		res.once('close', () => (inFlight -= 1));
		counts.requests += 1;
		if (sigtermAt) counts.requestsAfterSigterm += 1;
	});
}
process.on('exit', () => {
	process.stdout.write(`stats ${JSON.stringify(counts)}\n`);
});

/**
 * HAProxy pools idle connections to us and reuses them; it puts no timeout of its own on an idle pooled
 * connection, so we are the side that ends them, and each such close races with HAProxy sending a request on
 * that connection. A keep-alive timeout far longer than the gaps in traffic makes that rare (Node's default is
 * 5 s). While draining, graceful-proc closes idle connections itself, so this does not slow the shutdown.
 */
function tuneKeepAlive(server) {
	count(server);
	server.keepAliveTimeout = keepAliveTimeout;
	server.headersTimeout = keepAliveTimeout + 1000;
}

function onListening(port) {
	process.stdout.write(`ready ${port}\n`);
}

// Graceful and baseline bind the same way so that the driver can start the next generation on the same port.
function exitOnListenError(error) {
	process.stdout.write(`listen-error ${error.code ?? error.message}\n`);
	process.exit(error.code === 'EADDRINUSE' ? 98 : 1);
}

if (variant === 'graceful') {
	const { proc } = await import('graceful-proc');
	const { serve } = await import('graceful-proc/http');
	const { createHealthTicker } = await import('graceful-proc/health');

	proc.setTimeToForceQuit(timeToForceQuit);
	proc.setTimeToWrapUp(timeToWrapUp);
	proc.configure({
		onReport(report) {
			process.stdout.write(`report ${JSON.stringify(report)}\n`);
		},
	});

	const health = createHealthTicker({
		checks: { db: () => db.query() },
		interval: 1000,
		timeout: 500,
	});
	// Registered after `/`, so it answers /livez, /readyz and /healthz and passes everything else on.
	app.use(health.handler);
	proc.addShutdownListener(() => db.end(), { name: 'db' });

	try {
		const { server } = await serve(app, { port: Number(args.port), host: args.host, delay });
		tuneKeepAlive(server);
		onListening(server.address().port);
	} catch (error) {
		exitOnListenError(error);
	}
} else {
	app.get(['/livez', '/readyz', '/healthz'], (req, res) => {
		res.json({ ok: true });
	});
	const server = app.listen(Number(args.port), args.host, () => onListening(server.address().port));
	server.on('error', exitOnListenError);
	tuneKeepAlive(server);
	// What many services do: stop listening and let Node finish. In-flight requests complete, but the load
	// balancer still sends new ones until its health checks notice, and those are refused.
	// The `closing` line says what close() found: Node's close() destroys the idle connections at once, and a
	// connection with a request in flight stays open after its answer for as long as the client keeps it.
	process.on('SIGTERM', () => {
		process.stdout.write(`closing ${JSON.stringify({ inFlight, connections: open })}\n`);
		server.close(() => db.end());
	});
}
