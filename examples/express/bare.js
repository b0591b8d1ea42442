#!/usr/bin/env node
// The same Express app as server.js, stopped the way most services do it by hand: server.close() on SIGTERM.
// `npm run demo` runs it next to server.js to show what that loses. Not a recipe.
//
//   node examples/express/bare.js              # PORT (default 3000), HOST
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';

const app = express();
// A readiness endpoint that knows nothing of the shutdown: once the server is closed, probes are refused.
app.get('/readyz', (req, res) => {
	res.send('ready\n');
});
app.get('/', (req, res) => {
	res.send('hello\n');
});
app.get('/slow', async (req, res) => {
	await sleep(Number(req.query.ms ?? 1000));
	res.send(`slow ${req.query.id ?? ''}\n`);
});

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST, () => {
	const { address, port } = server.address();
	console.log(`listening on http://${address.includes(':') ? `[${address}]` : address}:${port}`);
});
process.on('SIGTERM', () => {
	// Stops accepting at once and closes idle keep-alive connections; exits once every connection is gone.
	server.close(() => process.exit(0));
});
