#!/usr/bin/env node
// An Express app with Server-Sent Events and WebSockets (the `ws` package) that winds its streams down on SIGTERM:
// after DRAIN_DELAY, each stream is told to end, one connection at a time, evenly over DRAIN_SPREAD, so that the
// clients reconnect to the other instances a few at a time instead of all in the same instant.
//
//   node examples/realtime/server.js     # PORT (default 3000), HOST, DRAIN_DELAY (ms, default 0), DRAIN_SPREAD (ms, default 10000)
//   curl -N localhost:3000/events &      # an SSE stream: a tick a second, then `event: bye` on SIGTERM
//   kill -TERM <pid>
//
// It prints `listening on <url>` once it listens, and its shutdown report as one JSON line when it stops.
import { WebSocketServer } from 'ws';
import express from 'express';
import { proc } from 'graceful-proc';
import { drainSignal, serve } from 'graceful-proc/http';

const app = express();

app.get('/', (req, res) => {
	res.type('html').send(`<!doctype html><title>realtime</title><pre id=log></pre><script>
const log = (line) => (document.getElementById('log').textContent += line + '\\n');
const events = new EventSource('/events');
events.onmessage = (e) => log('sse: ' + e.data);
events.addEventListener('bye', (e) => log('sse bye: ' + e.data));
const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws');
ws.onmessage = (e) => log('ws: ' + e.data);
ws.onclose = (e) => log('ws closed: ' + e.code + ' ' + e.reason);
</script>`);
});

// Readiness turns 503 the moment shutdown starts, while the server goes on serving for DRAIN_DELAY ms.
app.get('/readyz', (req, res) => {
	res.status(proc.signal.aborted ? 503 : 200).send(proc.signal.aborted ? 'shutting down\n' : 'ready\n');
});

// Server-Sent Events: when the drain reaches this stream, send a last event and end the response. `retry` tells
// EventSource how long to wait before it reconnects (through the load balancer, to another instance).
app.get('/events', (req, res) => {
	res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
	res.write('retry: 3000\ndata: hello\n\n');
	const tick = setInterval(() => res.write(`data: ${new Date().toISOString()}\n\n`), 1000);
	res.on('close', () => clearInterval(tick));
	drainSignal(req).addEventListener('abort', () => {
		clearInterval(tick);
		res.end('event: bye\ndata: this instance is going away, reconnect\n\n');
	});
});

const { server, url } = await serve(app, {
	port: process.env.PORT ?? 3000,
	host: process.env.HOST,
	delay: Number(process.env.DRAIN_DELAY ?? 0),
	spread: Number(process.env.DRAIN_SPREAD ?? 10_000),
});

// WebSockets: `ws` hands the upgrade request to 'connection'; close with 1001 (Going Away) when the drain reaches it.
const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (ws, req) => {
	ws.send('hello');
	drainSignal(req).addEventListener('abort', () => ws.close(1001, 'going away'));
});

proc.configure({
	// No times set: they follow what serve() registered (delay + spread + 1 s to wrap up).
	onReport: (report) => console.log(JSON.stringify({ event: 'shutdown', report })),
});
console.log(`listening on ${url}`);
