import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/child.js';
import { get, runWatched, type WatchedApp } from '../helpers/watched-app.js';

const apps: WatchedApp[] = [];
afterEach(() => {
	for (const app of apps.splice(0)) app.stop();
});

describe.each(['node --watch', 'nodemon'] as const)("the README's app (delay: 5000) under %s", (watcher) => {
	it('restarts on a save without the production delay, and answers the request in flight first', async () => {
		const app = runWatched(fixture('readme-server.mjs'), watcher, { env: { DEBUG: 'graceful-proc:http' } });
		apps.push(app);
		const [, port] = await app.waitFor(/^listening (\d+) (\d+) (\d+)$/);
		const inFlight = get(Number(port), '/slow');
		await app.waitFor(/^started \/slow$/);
		let from = app.lines.length;
		app.save();
		expect(await inFlight).toEqual({ status: 200, body: 'done /slow\n' });
		const report = JSON.parse((await app.waitFor(/^report (.*)$/, from))[1]!);
		expect(report).toMatchObject({ outcome: 'clean', exitCode: 0, listeners: expect.arrayContaining([`http 127.0.0.1:${port}:ok`, 'db:ok']) });
		// The 800 ms request, and no 5 s delay before it.
		expect(report.durationMs).toBeLessThan(2000);
		const [, again] = await app.waitFor(/^listening (\d+) (\d+) (\d+)$/, from);
		expect(await get(Number(again), '/')).toEqual({ status: 200, body: 'hello\n' });

		// A save with no request in flight: the old app is gone in a moment.
		from = app.lines.length;
		const savedAt = Date.now();
		app.save();
		const idle = JSON.parse((await app.waitFor(/^report (.*)$/, from))[1]!);
		expect(idle).toMatchObject({ outcome: 'clean', exitCode: 0 });
		expect(idle.durationMs).toBeLessThan(250);
		const [, , , startup] = await app.waitFor(/^listening (\d+) (\d+) (\d+)$/, from);
		const restartMs = Date.now() - savedAt;
		// Under a second from the save to serving again, not counting the new process's own start (Node and
		// express loading), which a loaded machine stretches whatever the old one did.
		expect(restartMs - Number(startup)).toBeLessThan(1000);
		// DEBUG=graceful-proc:http says why.
		expect(app.stderr()).toMatch(new RegExp(`graceful-proc:http http 127\\.0\\.0\\.1:\\d+: under ${watcher}: delay 0 ms, idleGrace 0 ms \\(instead of 5000 and 500\\)`));
		console.log(`${watcher}: save to listening again ${restartMs} ms (of which the new process's start ${startup} ms); stop ${idle.durationMs} ms`);
	}, 30_000);
});
