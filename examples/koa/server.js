#!/usr/bin/env node
// A Koa 3 app that drains on SIGTERM, with drain() on the server that app.listen() returns.
//
//   node examples/koa/server.js                # PORT (default 3000), HOST, DRAIN_DELAY (ms, default 0)
//
// It prints `listening on http://<host>:<port>` once it listens, and its shutdown report as one JSON line.
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import Koa from 'koa';
import { proc } from 'graceful-proc';
import { drain } from 'graceful-proc/http';

const app = new Koa();
// Readiness by hand, in one line: proc.signal aborts the moment shutdown starts. (The health ticker of
// graceful-proc/health does this too, with cached checks: see examples/express/server.js.)
app.use(async (ctx) => {
	if (ctx.path === '/readyz') {
		ctx.status = proc.signal.aborted ? 503 : 200;
		ctx.body = proc.signal.aborted ? 'shutting down\n' : 'ready\n';
		return;
	}
	if (ctx.path === '/slow') await sleep(Number(ctx.query.ms ?? 1000));
	ctx.body = `hello ${ctx.query.id ?? ''}\n`;
});

// timeToWrapUp and timeToForceQuit are left unset: they follow the drain's delay by themselves.
proc.configure({
	// The report serialises its errors as { name, message }.
	onReport: (report) => console.log(JSON.stringify({ event: 'shutdown', report })),
});

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST);
// With a host name, listen() binds after a DNS lookup: drain() wants a server that listens already.
await once(server, 'listening');
drain(server, { delay: Number(process.env.DRAIN_DELAY ?? 0) });
const { address, port } = server.address();
console.log(`listening on http://${address.includes(':') ? `[${address}]` : address}:${port}`);
