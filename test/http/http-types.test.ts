// The types of graceful-proc/http are part of its API.
import type http from 'node:http';
import type https from 'node:https';
import type http2 from 'node:http2';
import express from 'express';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { describe, expectTypeOf, it } from 'vitest';
import type { Proc, WaitFunction } from '../../src/index.js';
import gracefulProc, { type GracefulProcFastifyOptions } from '../../src/fastify.js';
import { createHealthTicker } from '../../src/health/index.js';
import { type GracefulNestOptions, gracefulNest } from '../../src/nest.js';
import { type DrainOptions, DrainTimeoutError, drain, type Served, type ServeOptions, serve } from '../../src/http/index.js';

describe('the types of graceful-proc/http are part of the API', () => {
	it('drain() takes any node server and returns the listener’s wait', () => {
		expectTypeOf(drain).returns.toEqualTypeOf<WaitFunction>();
		expectTypeOf<http.Server>().toMatchTypeOf<Parameters<typeof drain>[0]>();
		expectTypeOf<https.Server>().toMatchTypeOf<Parameters<typeof drain>[0]>();
		expectTypeOf<http2.Http2SecureServer>().toMatchTypeOf<Parameters<typeof drain>[0]>();
		expectTypeOf<ReturnType<express.Application['listen']>>().toMatchTypeOf<Parameters<typeof drain>[0]>();
		expectTypeOf<ReturnType<Koa['listen']>>().toMatchTypeOf<Parameters<typeof drain>[0]>();
	});

	it('has options with their types, every one optional', () => {
		expectTypeOf<{}>().toMatchTypeOf<DrainOptions>();
		expectTypeOf<DrainOptions['delay']>().toEqualTypeOf<number | undefined>();
		expectTypeOf<DrainOptions['idleGrace']>().toEqualTypeOf<number | undefined>();
		expectTypeOf<DrainOptions['timeout']>().toEqualTypeOf<number | undefined>();
		expectTypeOf<DrainOptions['name']>().toEqualTypeOf<string | undefined>();
		expectTypeOf<DrainOptions['proc']>().toEqualTypeOf<Proc | undefined>();
		expectTypeOf<ServeOptions['port']>().toEqualTypeOf<number | string | undefined>();
		expectTypeOf<ServeOptions>().toMatchTypeOf<DrainOptions>();
	});

	it('serve() takes an Express app, a Koa app or a handler, and resolves to { server, url, wait }', () => {
		expectTypeOf(serve).returns.resolves.toEqualTypeOf<Served>();
		expectTypeOf<Served['server']>().toEqualTypeOf<http.Server>();
		expectTypeOf<Served['url']>().toBeString();
		expectTypeOf<express.Express>().toMatchTypeOf<Parameters<typeof serve>[0]>();
		expectTypeOf<Koa>().toMatchTypeOf<Parameters<typeof serve>[0]>();
		expectTypeOf<http.RequestListener>().toMatchTypeOf<Parameters<typeof serve>[0]>();
		// @ts-expect-error a string is no app
		void (() => serve('app'));
	});

	it('infers node’s request and response for a (req, res) handler under strict TypeScript, and refuses fetch-style apps', () => {
		void (() =>
			serve((req, res) => {
				expectTypeOf(req).toEqualTypeOf<http.IncomingMessage>();
				expectTypeOf(res).toEqualTypeOf<http.ServerResponse>();
				res.end(req.url);
			}));
		void (() =>
			serve((req, res, next) => {
				expectTypeOf(next).toEqualTypeOf<((error?: unknown) => void) | undefined>();
				res.end();
			}));
		// A handler typed with Express's own request and response still fits.
		void (() => serve((req: express.Request, res: express.Response) => void res.send(req.path)));
		const hono = new Hono();
		// @ts-expect-error Hono's app.fetch takes a web Request: serve it with @hono/node-server
		void (() => serve(hono.fetch));
		// @ts-expect-error a Hono app has no node callback()
		void (() => serve(hono));
		// @ts-expect-error a fetch-style handler
		void (() => serve((request: Request) => new Response(request.url)));
		// @ts-expect-error an object with fetch() is no node app
		void (() => serve({ fetch: (request: Request) => new Response(request.url) }));
	});

	it('cuts are reported with a DrainTimeoutError that counts the requests', () => {
		expectTypeOf<DrainTimeoutError>().toMatchTypeOf<Error>();
		expectTypeOf<DrainTimeoutError['requests']>().toBeNumber();
	});
});

describe('the types of graceful-proc/fastify are part of the API', () => {
	it('registers on a real Fastify instance, with its options typed', () => {
		const app = Fastify();
		const health = createHealthTicker({ checks: { db: () => true }, interval: 60_000, proc: false });
		void (() => app.register(gracefulProc, { delay: 5000, idleGrace: 1000, health }));
		void (() => app.register(gracefulProc));
		void (() => app.register(gracefulProc, { health, paths: { livez: '/health/live', readyz: '/health/ready', healthz: false }, prefix: '/ops', logLevel: 'warn' }));
		// @ts-expect-error: the probes are livez, readyz and healthz
		void (() => app.register(gracefulProc, { health, paths: { ready: '/ready' } }));
		// @ts-expect-error: a path or false
		void (() => app.register(gracefulProc, { health, paths: { readyz: true } }));
		expectTypeOf(gracefulProc).parameter(1).toEqualTypeOf<GracefulProcFastifyOptions>();
		// @ts-expect-error: a delay is a number
		void (() => app.register(gracefulProc, { delay: '5000' }));
		// @ts-expect-error: no such option
		void (() => app.register(gracefulProc, { delai: 5000 }));
		void (() => app.register(gracefulProc, () => ({ delay: 5000 })));
		expectTypeOf<GracefulProcFastifyOptions['delay']>().toEqualTypeOf<number | undefined>();
		void health.stop();
	});

	it('gives health.fetch a web Request in and a Response out', () => {
		expectTypeOf<ReturnType<typeof createHealthTicker>['fetch']>().toEqualTypeOf<(request: Request) => Response>();
	});
});

describe('the types of graceful-proc/nest are part of the API', () => {
	it("takes Nest's application types, on either platform, and returns the listener's wait", () => {
		expectTypeOf<INestApplication>().toMatchTypeOf<Parameters<typeof gracefulNest>[0]>();
		expectTypeOf<NestExpressApplication>().toMatchTypeOf<Parameters<typeof gracefulNest>[0]>();
		expectTypeOf<NestFastifyApplication>().toMatchTypeOf<Parameters<typeof gracefulNest>[0]>();
		// A standalone application context has no HTTP server.
		expectTypeOf<INestApplicationContext>().not.toMatchTypeOf<Parameters<typeof gracefulNest>[0]>();
		expectTypeOf(gracefulNest).returns.toEqualTypeOf<WaitFunction>();
		expectTypeOf(gracefulNest).parameter(1).toEqualTypeOf<GracefulNestOptions | undefined>();
		expectTypeOf<GracefulNestOptions['delay']>().toEqualTypeOf<number | undefined>();
		const health = createHealthTicker({ checks: { db: () => true }, interval: 60_000, proc: false });
		void ((app: INestApplication) => gracefulNest(app, { delay: 5000, health }));
		// @ts-expect-error the drains are named after their addresses
		void ((app: INestApplication) => gracefulNest(app, { name: 'api' }));
		void health.stop();
	});
});
