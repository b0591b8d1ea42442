// graceful-proc/nest in-process, with the real NestJS and a fake process: what gracefulNest() refuses (a clear
// error, nothing registered), what Nest's hooks are given, and an app closed before the shutdown.
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc, type Proc } from '../../src/index.js';
import { createHealthTicker } from '../../src/health/index.js';
import gracefulNestDefault, { gracefulNest } from '../../src/nest.js';
import { createFakeProcess } from '../../src/testing.js';

const seen: string[] = [];

class Pool {
	onModuleDestroy() {
		seen.push('onModuleDestroy');
	}
	onApplicationShutdown(signal?: string) {
		seen.push(`onApplicationShutdown ${signal}`);
	}
}
Injectable()(Pool);
class AppModule {}
Module({ providers: [Pool] })(AppModule);

type App = Awaited<ReturnType<typeof NestFactory.create>>;
const apps: App[] = [];

async function makeApp(): Promise<App> {
	const app = await NestFactory.create(AppModule, { logger: false });
	apps.push(app);
	return app;
}

function makeProc(): { proc: Proc; fake: ReturnType<typeof createFakeProcess> } {
	const fake = createFakeProcess();
	return { proc: createProc({ process: fake, exit: false, logger: false }), fake };
}

/** The listeners a proc would call, by phase and name: shutting it down tells. */
async function listenersOf(proc: Proc): Promise<string[]> {
	const report = await proc.shutdown('test');
	return report.listeners.map((l) => `${l.phase} ${l.name}`);
}

afterEach(async () => {
	for (const app of apps.splice(0)) await app.close();
	seen.length = 0;
});

describe('gracefulNest(app, options): bad input is a clear error, and nothing is registered', () => {
	it('refuses what is not a Nest application with an HTTP server, and says so when the app was not awaited', async () => {
		expect(() => gracefulNest(undefined as never)).toThrow(
			new TypeError('Expected `app` to be a Nest application with an HTTP server (what `await NestFactory.create(AppModule)` returns), got `undefined` (undefined)'),
		);
		expect(() => gracefulNest({} as never)).toThrow(/^Expected `app` to be a Nest application with an HTTP server .*, got `\[Object\]` \(object\)$/);
		const pending = NestFactory.create(AppModule, { logger: false });
		expect(() => gracefulNest(pending as never)).toThrow(/got `\[Promise\]` \(object\); await NestFactory\.create\(\) first$/);
		apps.push(await pending);
		// A standalone application context has no HTTP server to drain.
		const context = await NestFactory.createApplicationContext(AppModule, { logger: false });
		try {
			expect(() => gracefulNest(context as never)).toThrow(/^Expected `app` to be a Nest application with an HTTP server/);
		} finally {
			await context.close();
		}
		expect(gracefulNestDefault).toBe(gracefulNest);
	});

	it('checks every option before anything is registered', async () => {
		const app = await makeApp();
		const { proc } = makeProc();
		expect(() => gracefulNest(app, { proc, delay: -1 })).toThrow(new RangeError('Expected `options.delay` to be a finite number >= 0, got `-1` (number)'));
		// The drains are named after their addresses, and the shutdown listener `nest`.
		expect(() => gracefulNest(app, { proc, name: 'api' } as never)).toThrow(
			new TypeError('Unknown option `options.name`; known options are `delay`, `idleGrace`, `timeout`, `spread`, `proc`, `devWatch`, `health`'),
		);
		expect(() => gracefulNest(app, { proc, health: { status: () => ({}) } } as never)).toThrow(
			new TypeError('Expected `options.health` to be a health ticker (from `createHealthTicker()`), got `[Object]` (object)'),
		);
		expect(() => gracefulNest(app, { proc: null } as never)).toThrow(/Expected `options.proc` to be a proc/);
		expect(await listenersOf(proc)).toEqual([]);
	});

	it('refuses to mount the probes on an app already initialized (Nest answers before them), and to set up an app twice', async () => {
		const { proc } = makeProc();
		const health = createHealthTicker({ checks: { self: () => true }, proc: false });
		try {
			const late = await makeApp();
			await late.init();
			expect(() => gracefulNest(late, { proc, health })).toThrow(/^Expected `app` not to be initialized yet when `options.health` is given.*before app\.listen\(\)\.$/);
			const app = await makeApp();
			gracefulNest(app, { proc, health });
			expect(() => gracefulNest(app, { proc })).toThrow(new TypeError('Expected `app` to be set up by gracefulNest() once, got an app it already set up'));
			// Only the first call registered its listener (the drain waits for the server to listen).
			expect(await listenersOf(proc)).toEqual(['shutdown nest']);
		} finally {
			health.stop();
		}
	});
});

describe("gracefulNest(): Nest's hooks in the shutdown phase", () => {
	it('a signal starts the sequence: app.close(signal) runs the hooks with its name', async () => {
		const app = await makeApp();
		const { proc, fake } = makeProc();
		const wait = gracefulNest(app, { proc });
		fake.kill('SIGTERM');
		await wait();
		expect(seen).toEqual(['onModuleDestroy', 'onApplicationShutdown SIGTERM']);
	});

	it('shutdown() by hand: the hooks get no signal, as with app.close()', async () => {
		const app = await makeApp();
		const { proc } = makeProc();
		gracefulNest(app, { proc });
		const report = await proc.shutdown('deploy');
		expect(report.listeners.map((l) => `${l.phase} ${l.name} ${l.outcome}`)).toEqual(['shutdown nest ok']);
		expect(seen).toEqual(['onModuleDestroy', 'onApplicationShutdown undefined']);
	});

	it('an app closed before the shutdown (the end of a test) takes its listeners with it', async () => {
		const app = await makeApp();
		const { proc } = makeProc();
		gracefulNest(app, { proc });
		await app.init();
		await app.close();
		seen.length = 0;
		expect(await listenersOf(proc)).toEqual([]);
		expect(seen).toEqual([]);
	});

	it("a proc on another process leaves Nest's own handlers where they are", async () => {
		const app = await makeApp();
		const { proc } = makeProc();
		app.enableShutdownHooks(['SIGTERM']);
		const nests = () => process.listeners('SIGTERM').filter((fn) => fn.name === 'cleanup');
		expect(nests()).toHaveLength(1);
		gracefulNest(app, { proc });
		expect(nests()).toHaveLength(1);
		await app.close();
		expect(nests()).toHaveLength(0);
	});
});
