// One hello-world server for bench/costs.bench.js, set up as `variant` says; prints `ready <port>` once it listens.
// GET /__cpu answers the CPU time the process has used (µs), so the bench can count CPU per request.
// Usage: node bench/costs/server.mjs <variant>
import http from 'node:http';

const [variant] = process.argv.slice(2);
const cpu = () => {
	const { user, system } = process.cpuUsage();
	return String(user + system);
};

const { drain, drainSignal, serve } = await import('graceful-proc/http');

/**
 * node:http handlers: `ask` calls drainSignal(req) and reads it, as a handler that passes the signal on does;
 * 'on /ask' does so only for requests to /ask, so that one process serves requests that ask and requests that do not.
 */
const handler = (ask) => (req, res) => {
	if (req.url === '/__cpu') return void res.end(cpu());
	if ((ask === true || (ask === 'on /ask' && req.url === '/ask')) && drainSignal(req).aborted) return void res.end('bye\n');
	res.end('ok\n');
};

async function listen(server) {
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	return server.address().port;
}

async function express() {
	const { default: createApp } = await import('express');
	const app = createApp();
	app.get('/__cpu', (_req, res) => res.send(cpu()));
	app.get('/', (_req, res) => res.send('ok\n'));
	return app;
}

async function koa() {
	const { default: Koa } = await import('koa');
	const app = new Koa();
	app.use((ctx) => {
		ctx.body = ctx.path === '/__cpu' ? cpu() : 'ok\n';
	});
	return app;
}

let port;
switch (variant) {
	case 'node-bare':
		port = await listen(http.createServer(handler(false)));
		break;
	case 'node-drain': {
		const server = http.createServer(handler(false));
		drain(server);
		port = await listen(server);
		break;
	}
	case 'node-drain-signal': {
		const server = http.createServer(handler(true));
		drain(server);
		port = await listen(server);
		break;
	}
	case 'node-undrained-signal':
		port = await listen(http.createServer(handler(true)));
		break;
	case 'node-drain-signal-on-ask': {
		const server = http.createServer(handler('on /ask'));
		drain(server);
		port = await listen(server);
		break;
	}
	case 'node-undrained-signal-on-ask':
		port = await listen(http.createServer(handler('on /ask')));
		break;
	case 'node-serve':
		port = Number(new URL((await serve(handler(false), { port: 0, host: '127.0.0.1' })).url).port);
		break;
	case 'express-bare': {
		const app = await express();
		const server = app.listen(0, '127.0.0.1');
		await new Promise((resolve) => server.once('listening', resolve));
		port = server.address().port;
		break;
	}
	case 'express-serve':
		port = Number(new URL((await serve(await express(), { port: 0, host: '127.0.0.1' })).url).port);
		break;
	case 'koa-bare':
		port = await listen(http.createServer((await koa()).callback()));
		break;
	case 'koa-serve':
		port = Number(new URL((await serve(await koa(), { port: 0, host: '127.0.0.1' })).url).port);
		break;
	default:
		throw new Error(`unknown variant ${variant}`);
}
console.log(`ready ${port}`);
