// `deno test` on the packed package: .ci/run copies this file and test/fixtures/deno-core-child.mjs into a scratch
// project that installed the tarball, and runs it with Deno (test/system/deno-core.test.ts runs the same fixture
// under Deno on this checkout's build, from vitest). The children get the flags a user would give: none for the
// core, --allow-net and --allow-env for a server.
// No assertion library: Deno's (@std/assert) comes from JSR, and this runs where only the npm registry is reached.
function assertEquals(actual, expected, message = '') {
	if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)} ${message}`);
}
function assertMatch(actual, pattern) {
	if (!pattern.test(actual)) throw new Error(`expected ${JSON.stringify(actual)} to match ${pattern}`);
}

const script = new URL('./deno-core-child.mjs', import.meta.url).pathname;

function start(mode, flags = []) {
	const child = new Deno.Command(Deno.execPath(), {
		args: ['run', ...flags, script, mode],
		stdin: 'null',
		stdout: 'piped',
		stderr: 'piped',
		env: { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
	}).spawn();
	let stdout = '';
	let stderr = '';
	const decode = (stream, append) =>
		stream.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream({ write: (chunk) => append(chunk) }));
	const reading = Promise.all([decode(child.stdout, (c) => (stdout += c)), decode(child.stderr, (c) => (stderr += c))]);
	const closed = Promise.all([child.status, reading]).then(([status]) => [status.code, status.signal]);
	const lines = () => stdout.split('\n');
	return {
		child,
		closed,
		lines,
		stderr: () => stderr,
		report() {
			const line = lines().find((l) => l.startsWith('report '));
			return line ? JSON.parse(line.slice('report '.length)) : undefined;
		},
		async line(pattern) {
			for (let waited = 0; waited < 15_000; waited += 10) {
				const found = lines().find((l) => pattern.test(l));
				if (found) return found;
				await new Promise((resolve) => setTimeout(resolve, 10));
			}
			throw new Error(`no line matching ${pattern}: ${stdout} ${stderr}`);
		},
	};
}

Deno.test('the testing kit: createProc with a fake process', async () => {
	const child = start('fake');
	assertEquals(await child.closed, [0, null]);
	assertEquals(child.lines().includes('fake exited=0 ran=wrap-up,shutdown listening=0'), true);
});

Deno.test('a real SIGTERM runs the wrap-up, then the shutdown listener, and exits 0 with a clean report', async () => {
	const child = start('listener', ['--allow-env']);
	await child.line(/^ready watchdog=yes$/);
	child.child.kill('SIGTERM');
	assertEquals(await child.closed, [0, null]);
	assertEquals(child.lines().includes('ran wrap-up:SIGTERM,shutdown:shutting-down exit=0'), true);
	assertEquals([child.report().outcome, child.report().exitCode], ['clean', 0]);
	assertEquals(child.stderr(), '');
});

Deno.test('the force-quit deadline with a hung listener: exit 1 on time', async () => {
	const child = start('pending', ['--allow-env']);
	await child.line(/^ready/);
	const sent = Date.now();
	child.child.kill('SIGTERM');
	assertEquals(await child.closed, [1, null]);
	const elapsed = Date.now() - sent;
	assertEquals(elapsed >= 950 && elapsed < 2000, true, `closed after ${elapsed} ms`);
	assertEquals([child.report().outcome, child.report().forcedBy], ['forced', 'deadline']);
});

Deno.test('serve(): a request in flight at SIGTERM gets its response, and the process exits 0', async () => {
	const child = start('serve', ['--allow-net=127.0.0.1', '--allow-env']);
	const url = (await child.line(/^ready /)).slice('ready '.length);
	const response = fetch(`${url}/slow`).then(async (res) => ({ status: res.status, body: await res.text() }));
	await child.line(/^slow request started$/);
	child.child.kill('SIGTERM');
	assertEquals(await response, { status: 200, body: 'slow done' });
	assertEquals(await child.closed, [0, null]);
	assertMatch(JSON.stringify(child.report()), /"outcome":"clean"/);
});
