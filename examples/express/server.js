#!/usr/bin/env node
// An Express 5 app that drains on SIGTERM, with health probes.
//
//   node examples/express/server.js            # PORT (default 3000), HOST, DRAIN_DELAY (ms, default 0)
//   curl localhost:3000/slow?ms=2000 & kill -TERM <pid>   # the slow request is still answered
//
// It prints `listening on <url>` once it listens, and its shutdown report as one JSON line when it stops.
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { addShutdownListener, configure } from 'graceful-proc';
import { createHealthTicker } from 'graceful-proc/health';
import { serve } from 'graceful-proc/http';

// Stands in for a database pool: what the requests use, closed once the last one is answered.
const db = {
	ping: async () => {},
	end: () => sleep(10),
};

// /readyz turns 503 the moment shutdown starts, while the server goes on serving for DRAIN_DELAY ms: the time
// a load balancer needs to stop sending traffic here. /livez stays 200 while draining.
const health = createHealthTicker({ checks: { db: () => db.ping() } });

const app = express();
app.use(health.handler);
app.get('/', (req, res) => {
	res.send('hello\n');
});
app.get('/slow', async (req, res) => {
	await sleep(Number(req.query.ms ?? 1000));
	res.send(`slow ${req.query.id ?? ''}\n`);
});

addShutdownListener(() => db.end(), { name: 'db pool' });
// timeToWrapUp and timeToForceQuit are left unset: they follow the drain's delay by themselves.
configure({
	// The report serialises its errors as { name, message }.
	onReport: (report) => console.log(JSON.stringify({ event: 'shutdown', report })),
});

const { url } = await serve(app, {
	port: process.env.PORT ?? 3000,
	host: process.env.HOST,
	delay: Number(process.env.DRAIN_DELAY ?? 0),
});
console.log(`listening on ${url}`);
