// The packed package as an ES module project imports it: every entry point (Fastify and NestJS not installed), the
// process-wide proc, one proc shared with the CommonJS build that require() gets, and a fake-process shutdown that
// exits 0.
// .ci/run copies this file into a scratch project ("type": "module") that installed the tarball.
import * as proc from 'graceful-proc';
import { drain, serve } from 'graceful-proc/http';
import { createHealthTicker } from 'graceful-proc/health';
import { supervise } from 'graceful-proc/supervise';
import { createFakeProcess } from 'graceful-proc/testing';
import gracefulProc from 'graceful-proc/fastify';
import gracefulNestDefault, { gracefulNest } from 'graceful-proc/nest';
import { createRequire } from 'node:module';

const exported = { addWrapUpListener: proc.addWrapUpListener, createProc: proc.createProc, run: proc.run, drain, serve, createHealthTicker, supervise, createFakeProcess, gracefulProc, gracefulNest };
for (const [name, value] of Object.entries(exported)) {
	if (typeof value !== 'function') throw new Error(`${name} is not exported`);
}
if (gracefulNestDefault !== gracefulNest) throw new Error('graceful-proc/nest: the default export is not gracefulNest');
if (!(proc.signal instanceof AbortSignal) || proc.proc.state !== 'running') throw new Error('proc is not usable');
// require() from an ES module gets the CommonJS build: still the same process-wide proc.
const require = createRequire(import.meta.url);
const required = require('graceful-proc');
if (!require.resolve('graceful-proc').endsWith('.cjs')) throw new Error('require() did not get the CommonJS build');
if (required.proc !== proc.proc) throw new Error('the CommonJS and the ESM build do not share the process-wide proc');
const fake = createFakeProcess();
const p = proc.createProc({ process: fake, logger: false });
p.addWrapUpListener(() => {});
fake.kill('SIGTERM');
if ((await fake.exited) !== 0) throw new Error('the fake process did not exit 0');
console.log('esm ok');
