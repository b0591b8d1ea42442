// A jest test file as a CommonJS project writes it, run by jest with its defaults (its own module system,
// which cannot require ES modules) against the installed package: by .ci/run on the packed tarball, and by
// test/system/jest-testing-kit.test.ts on this checkout's build.
const { subscribe, unsubscribe } = require('node:diagnostics_channel');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const proc = require('graceful-proc');
const { createProc } = require('graceful-proc');
const { createFakeProcess, useFakeProcess, useRealProcess } = require('graceful-proc/testing');

afterEach(() => {
	jest.useRealTimers();
});

test('require() loads every entry point', () => {
	expect(typeof proc.addWrapUpListener).toBe('function');
	expect(proc.proc.state).toBe('running');
	expect(typeof require('graceful-proc/http').drain).toBe('function');
	expect(typeof require('graceful-proc/http').serve).toBe('function');
	expect(typeof require('graceful-proc/health').createHealthTicker).toBe('function');
	expect(typeof require('graceful-proc/supervise').supervise).toBe('function');
});

// An app module that registers on the process-wide proc when a test requires it: the handlers come and go with
// the listener, and nothing is left open for jest to wait on.
test('the process-wide proc: a listener installs the signal handlers, removing it takes them away', () => {
	const before = process.listenerCount('SIGTERM');
	const wait = proc.addWrapUpListener(() => {}, { name: 'app' });
	expect(proc.proc.state).toBe('running');
	expect(process.listenerCount('SIGTERM')).toBe(before + 1);
	expect(wait.remove()).toBe(true);
	expect(process.listenerCount('SIGTERM')).toBe(before);
});

test('SIGTERM to a fake process runs the listeners in order and exits 0, under jest fake timers', async () => {
	jest.useFakeTimers();
	const fake = createFakeProcess();
	const reports = [];
	const p = createProc({ process: fake, logger: false, onReport: (report) => reports.push(report) });
	const ran = [];
	p.addWrapUpListener(
		async () => {
			await new Promise((resolve) => setTimeout(resolve, 800));
			ran.push('http');
		},
		{ name: 'http' },
	);
	p.addShutdownListener(() => void ran.push('db'), { name: 'db' });

	fake.kill('SIGTERM');
	expect(p.state).toBe('wrapping-up');
	await jest.advanceTimersByTimeAsync(799);
	expect(ran).toEqual([]);
	await jest.advanceTimersByTimeAsync(1);
	expect(await fake.exited).toBe(0);
	expect(fake.exitCode).toBe(0);
	expect(ran).toEqual(['http', 'db']);
	expect(reports[0]).toMatchObject({ reason: 'SIGTERM', outcome: 'clean', exitCode: 0 });
});

test('the force-quit deadline passes on fake time: exit 1, the pending listener named', async () => {
	jest.useFakeTimers();
	const fake = createFakeProcess();
	const reports = [];
	const p = createProc({ process: fake, logger: false, timeToForceQuit: 3000, onReport: (report) => reports.push(report) });
	p.addShutdownListener(() => new Promise(() => {}), { name: 'stuck' });

	fake.kill('SIGTERM');
	await jest.advanceTimersByTimeAsync(2999);
	expect(fake.exitCode).toBeUndefined();
	await jest.advanceTimersByTimeAsync(1);
	expect(await fake.exited).toBe(1);
	expect(reports[0]).toMatchObject({ outcome: 'forced', exitCode: 1, listeners: [{ name: 'stuck', outcome: 'pending' }] });
});

// The README's Express recipe, as the installed package prints it, written as a CommonJS module would have it:
// each `import` a require(), and its top level (which awaits serve()) in an async function whose promise the
// module exports, since CommonJS has no top-level await. Nothing else of it changes.
function readmeRecipeAsCommonJs() {
	const readme = fs.readFileSync(path.join(path.dirname(require.resolve('graceful-proc/package.json')), 'README.md'), 'utf8');
	const block = /<!-- sample: express\b[^>]*-->\s*(?:<!-- prelude\n([\s\S]*?)-->\s*)?```js\n([\s\S]*?)\n```/.exec(readme);
	if (!block) throw new Error('README.md has no block tagged `<!-- sample: express -->`');
	const [, prelude = '', code] = block;
	const body = code
		.replace(/^import \* as (\w+) from (['"][^'"]+['"]);$/gm, 'const $1 = require($2);')
		.replace(/^import (\w+) from (['"][^'"]+['"]);$/gm, 'const $1 = require($2);')
		.replace(/^import (\{[^}]*\}) from (['"][^'"]+['"]);$/gm, 'const $1 = require($2);');
	if (/^import /m.test(body)) throw new Error(`an import this test cannot turn into require():\n${body}`);
	const file = path.join(__dirname, '..', 'readme-express-recipe.js');
	fs.writeFileSync(file, `module.exports = (async () => {\n${prelude}\n${body}\n})();\n`);
	return file;
}

/** Requires the recipe; the port it asks for (3000) becomes a free one while it loads. Resolves with its servers. */
async function loadRecipe() {
	const file = readmeRecipeAsCommonJs();
	const servers = [];
	const listen = net.Server.prototype.listen;
	net.Server.prototype.listen = function (...args) {
		if (typeof args[0] === 'number') args[0] = 0;
		servers.push(this);
		return listen.apply(this, args);
	};
	try {
		await require(file);
	} finally {
		net.Server.prototype.listen = listen;
	}
	return servers;
}

function get(port, urlPath) {
	return new Promise((resolve, reject) => {
		http
			.get({ host: '127.0.0.1', port, path: urlPath, agent: new http.Agent({ keepAlive: true }) }, (res) => {
				let body = '';
				res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
				res.on('end', () => resolve({ status: res.statusCode, body, connection: res.headers.connection }));
			})
			.on('error', reject);
	});
}

describe("the README's Express recipe under useFakeProcess()", () => {
	afterEach(() => useRealProcess());

	test('answers the request in flight at SIGTERM, then exits 0 with a clean report, and leaves nothing open', async () => {
		const before = process.listenerCount('SIGTERM');
		const fake = useFakeProcess();
		const [server] = await loadRecipe();
		const { port } = server.address();
		expect(await get(port, '/readyz')).toMatchObject({ status: 200 });

		// SIGTERM the moment the server has the request, before the app has answered it.
		let inFlight;
		const onRequest = ({ request, response }) => {
			if (request.url !== '/') return;
			inFlight = !response.headersSent;
			fake.kill('SIGTERM');
		};
		subscribe('http.server.request.start', onRequest);
		try {
			// `Connection: close` once the server has stopped accepting; in the turn or two before (it first takes the
			// connections the kernel queued) the answer keeps its keep-alive, and the drain closes the connection when
			// idle (--detectOpenHandles sees none left).
			const answer = await get(port, '/');
			expect(answer).toMatchObject({ status: 200, body: 'hello' });
			expect(['close', 'keep-alive']).toContain(answer.connection);
		} finally {
			unsubscribe('http.server.request.start', onRequest);
		}
		expect(inFlight).toBe(true);
		expect(await fake.exited).toBe(0);
		expect(fake.shutdownReport).toMatchObject({
			reason: 'SIGTERM',
			outcome: 'clean',
			exitCode: 0,
			listeners: [
				{ name: `http localhost:${port}`, outcome: 'ok' },
				{ name: 'health', outcome: 'ok' },
			],
		});
		expect(server.listening).toBe(false);
		expect(process.listenerCount('SIGTERM')).toBe(before);
	});
});
