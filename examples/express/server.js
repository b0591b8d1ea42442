#!/usr/bin/env node
// An Express 5 app that drains on SIGTERM.
//
//   node examples/express/server.js            # PORT (default 3000), HOST, DRAIN_DELAY (ms, default 0)
//   curl localhost:3000/slow?ms=2000 & kill -TERM <pid>   # the slow request is still answered
//
// It prints `listening on <url>` once it listens, and its shutdown report as one JSON line when it stops.
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { proc } from 'graceful-proc';
import { serve } from 'graceful-proc/http';

const app = express();
app.get('/', (req, res) => {
	res.send('hello\n');
});
app.get('/slow', async (req, res) => {
	await sleep(Number(req.query.ms ?? 1000));
	res.send(`slow ${req.query.id ?? ''}\n`);
});
// Readiness turns 503 the moment shutdown starts (proc.signal aborts before any listener runs), while the
// server goes on serving for DRAIN_DELAY ms: the time a load balancer needs to stop sending traffic here.
app.get('/readyz', (req, res) => {
	res.status(proc.signal.aborted ? 503 : 200).send(proc.signal.aborted ? 'shutting down\n' : 'ready\n');
});

proc.configure({
	// Above DRAIN_DELAY plus the slowest request; Kubernetes' terminationGracePeriodSeconds must be longer still.
	timeToForceQuit: 10_000,
	// Wrap-up (the drain) may take this long before the shutdown phase (closing pools) starts anyway.
	timeToWrapUp: 8_000,
	// The report serialises its errors as { name, message }.
	onReport: (report) => console.log(JSON.stringify({ event: 'shutdown', report })),
});
// What a real app would close after the drain: the database pool, the message consumer, ...
proc.addShutdownListener(async () => sleep(10), { name: 'db pool' });

const { url } = await serve(app, {
	port: process.env.PORT ?? 3000,
	host: process.env.HOST,
	delay: Number(process.env.DRAIN_DELAY ?? 0),
});
console.log(`listening on ${url}`);
