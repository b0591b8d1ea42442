// The packed package as a CommonJS project requires it: every entry point, the CommonJS build, a fake-process
// shutdown that exits 0, and one proc shared with the ESM build that import() gets.
// .ci/run copies this file into a scratch project (no "type") that installed the tarball.
const proc = require('graceful-proc');
const { drain, serve } = require('graceful-proc/http');
const { createHealthTicker } = require('graceful-proc/health');
const { supervise } = require('graceful-proc/supervise');
const { createFakeProcess } = require('graceful-proc/testing');
// Fastify unwraps `default`: app.register(require('graceful-proc/fastify')) works; Fastify itself is not installed here.
const { default: gracefulProc } = require('graceful-proc/fastify');
// NestJS is not installed either: the adapter is duck-typed.
const { gracefulNest } = require('graceful-proc/nest');

for (const fn of [proc.addWrapUpListener, proc.createProc, proc.run, drain, serve, createHealthTicker, supervise, createFakeProcess, gracefulProc, gracefulNest]) {
	if (typeof fn !== 'function') throw new Error('missing export');
}
if (!require.resolve('graceful-proc').endsWith('.cjs')) throw new Error('require() did not get the CommonJS build');
const fake = createFakeProcess();
const p = proc.createProc({ process: fake, logger: false });
p.addShutdownListener(() => {});
fake.kill('SIGTERM');
fake.exited.then(async (code) => {
	if (code !== 0) throw new Error('the fake process did not exit 0');
	const imported = await import('graceful-proc');
	if (imported.proc !== proc.proc) throw new Error('the CommonJS and the ESM build do not share the process-wide proc');
	console.log('cjs ok');
});
