// What both roll drivers (HAProxy: roll.js, nginx: roll-nginx.js) share besides their processes: the command
// line, the load that runs through the proxy while the replicas restart, and the report. Each driver brings its
// proxy: how to find and start it, how one restart goes, and what its logs say.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cleanUpOnExit, SetupError } from './processes.js';

/**
 * Parses the options every driver has, plus `extra` (parseArgs option specs). Returns `{ help: true }`, or the
 * options, the raw values, and `optional(name, min)`, which checks a driver's own numeric options the same way.
 */
function parseRollOptions(argv, { duration, connections, extra = {} }) {
	const { values, positionals } = parseArgs({
		args: argv,
		// Everything after `--` goes to service.js unchanged: `-- --keep-alive-timeout 5000`.
		allowPositionals: true,
		options: {
			variant: { type: 'string', default: 'both' },
			duration: { type: 'string', default: String(duration) },
			replicas: { type: 'string', default: '3' },
			restarts: { type: 'string' },
			rate: { type: 'string', default: '0' },
			connections: { type: 'string', default: String(connections) },
			warmup: { type: 'string', default: '1000' },
			tail: { type: 'string', default: '1000' },
			grace: { type: 'string', default: '10000' },
			delay: { type: 'string' },
			'time-to-force-quit': { type: 'string' },
			...extra,
			json: { type: 'boolean', default: false },
			keep: { type: 'boolean', default: false },
			help: { type: 'boolean', short: 'h', default: false },
		},
	});
	if (values.help) return { help: true };
	const number = (name, value, min) => {
		const n = Number(value);
		if (!Number.isFinite(n) || n < min) throw new SetupError(`Expected --${name} to be a number >= ${min}, got ${value}`);
		return n;
	};
	const optional = (name, min) => (values[name] === undefined ? undefined : number(name, values[name], min));
	const variants = values.variant === 'both' ? ['graceful', 'baseline'] : [values.variant];
	for (const variant of variants) {
		if (variant !== 'graceful' && variant !== 'baseline') throw new SetupError(`Expected --variant to be graceful, baseline or both, got ${values.variant}`);
	}
	const replicas = number('replicas', values.replicas, 1);
	const options = {
		variants,
		duration: number('duration', values.duration, 0),
		replicas,
		restarts: optional('restarts', 0) ?? replicas,
		rate: number('rate', values.rate, 0),
		connections: number('connections', values.connections, 1),
		warmup: number('warmup', values.warmup, 0),
		tail: number('tail', values.tail, 0),
		grace: number('grace', values.grace, 0),
		delay: optional('delay', 0),
		timeToForceQuit: optional('time-to-force-quit', 0),
		serviceArgs: positionals,
		json: values.json,
		keep: values.keep,
	};
	return { options, values, optional };
}

/** The arguments for service.js: the driver's `-- ...` ones, then `--delay` and `--time-to-force-quit` if given. */
export function serviceArgsOf(options) {
	const args = [...options.serviceArgs];
	if (options.delay !== undefined) args.push('--delay', String(options.delay));
	if (options.timeToForceQuit !== undefined) args.push('--time-to-force-quit', String(options.timeToForceQuit));
	return args;
}

/**
 * Every response and request error is counted under the phase of the roll it arrived in (`phases.phase`, set by
 * the driver), so a failure says when it happened and a clean run shows that traffic flowed while each replica
 * was draining.
 */
export function phaseCounter() {
	const phases = {
		phase: 'startup',
		byPhase: {},
		count(what) {
			const counts = (phases.byPhase[phases.phase] ??= {});
			counts[what] = (counts[what] ?? 0) + 1;
		},
	};
	return phases;
}

/**
 * Starts the keep-alive load through the proxy at `url` (`request`: method, headers, body), counting each answer
 * with `phases`. `finish()` keeps it on until `duration` has passed and for `tail` ms after the roll, stops it,
 * and returns what it measured; `stop()` stops it early (a failed setup).
 */
export function startLoad(url, options, phases, request = {}) {
	const startedAt = Date.now();
	let load = autocannon({
		url,
		...request,
		connections: options.connections,
		// Without a rate, each connection sends its next request as soon as the last answer came: a closed
		// loop that never pauses. autocannon's rate limit sends each second's quota in a burst and then
		// waits, which leaves quiet gaps in which a restart could hide.
		...(options.rate > 0 ? { overallRate: options.rate } : {}),
		pipelining: 1,
		duration: 3600, // stopped by hand, once the roll is over and `duration` has passed
		timeout: 10,
	});
	const done = new Promise((resolve, reject) => {
		load.once('done', resolve);
		load.once('error', reject);
	});
	load.on('response', (client, statusCode) => phases.count(String(statusCode)));
	load.on('reqError', (error) => phases.count(error.code ?? error.message));
	return {
		async finish() {
			const end = Math.max(startedAt + options.duration * 1000, Date.now() + options.tail);
			await sleep(Math.max(0, end - Date.now()));
			load.stop();
			const stats = await done;
			load = undefined;
			return {
				requestsSent: stats.requests.sent,
				responses: stats['1xx'] + stats['2xx'] + stats['3xx'] + stats['4xx'] + stats['5xx'],
				'2xx': stats['2xx'],
				non2xx: stats.non2xx,
				errors: stats.errors,
				timeouts: stats.timeouts,
				statusCodes: Object.fromEntries(Object.entries(stats.statusCodeStats).map(([status, { count }]) => [status, Number(count)])),
				loadSeconds: stats.duration,
			};
		},
		stop() {
			load?.stop();
		},
	};
}

function table(results) {
	return [
		'| variant | requests sent | 2xx | non-2xx | errors | roll duration |',
		'|---|---:|---:|---:|---:|---:|',
		...results.map((r) => `| ${r.variant} | ${r.requestsSent} | ${r['2xx']} | ${r.non2xx} | ${r.errors} | ${(r.rollMs / 1000).toFixed(1)} s |`),
	].join('\n');
}

/** `restartLine(restart)` and `logLines(result)` are the driver's: what it saw of each restart and in its proxy's logs. */
function details(r, restartLine, logLines) {
	const lines = [`### ${r.variant}`, '', ...r.restarts.map((s) => `- ${restartLine(s)}`)];
	for (const [phase, counts] of Object.entries(r.byPhase)) {
		lines.push(`- during "${phase}": ${Object.entries(counts).map(([what, n]) => `${what} × ${n}`).join(', ')}`);
	}
	lines.push(...logLines(r).map((line) => `- ${line}`));
	lines.push(`- status codes: ${JSON.stringify(r.statusCodes)}, load ran ${r.loadSeconds} s`);
	return lines.join('\n');
}

/**
 * A driver's main: parses its command line, checks that its proxy is there and the package is built, runs each
 * variant, and prints the table (or, with --json, one JSON object on stdout). Returns the exit code: 0 when the
 * graceful variant (if it ran) lost nothing, 1 when it lost requests, 2 when the setup failed.
 *
 * `driver`: { usage, defaults: { duration, connections, extra }, parse({ options, values, optional }) (the
 * driver's own options into `options`), proxy: { name (the summary's key), find(), installHint, version(bin), settings(options) },
 * header(options), runVariant(variant, options, log), restartLine(restart), logLines(result) }.
 */
export async function runRollDriver(driver) {
	cleanUpOnExit();
	let options;
	try {
		const parsed = parseRollOptions(process.argv.slice(2), driver.defaults);
		if (parsed.help) {
			console.log(driver.usage);
			return 0;
		}
		driver.parse?.(parsed);
		options = parsed.options;
	} catch (error) {
		console.error(error.message);
		return 2;
	}
	const log = options.json ? (line) => process.stderr.write(`${line}\n`) : (line) => process.stdout.write(`${line}\n`);
	const bin = driver.proxy.find();
	if (!bin) {
		console.error(driver.proxy.installHint);
		return 2;
	}
	if (options.variants.includes('graceful')) {
		try {
			for (const entry of ['graceful-proc', 'graceful-proc/http', 'graceful-proc/health']) {
				if (!existsSync(fileURLToPath(import.meta.resolve(entry)))) throw new Error(entry);
			}
		} catch {
			console.error('graceful-proc is not built: run `npm run build` first.');
			return 2;
		}
	}
	options.bin = bin;
	const version = driver.proxy.version(bin);
	log(`${version}, Node ${process.version}; ${options.replicas} replicas, ${options.restarts} restarts one at a time, ${driver.header(options)}`);
	const results = [];
	try {
		for (const variant of options.variants) results.push(await driver.runVariant(variant, options, log));
	} catch (error) {
		console.error(error instanceof SetupError ? `setup failed: ${error.message}` : error);
		return 2;
	}
	const { name } = driver.proxy;
	const settings = { replicas: options.replicas, restarts: options.restarts, connections: options.connections, rate: options.rate, duration: options.duration };
	const summary = { [name]: version, node: process.version, settings: { ...settings, [name]: driver.proxy.settings(options) }, results };
	if (options.json) {
		process.stdout.write(`${JSON.stringify(summary)}\n`);
	} else {
		log('');
		log(table(results));
		for (const result of results) log(`\n${details(result, driver.restartLine, driver.logLines)}`);
	}
	const graceful = results.find((r) => r.variant === 'graceful');
	return graceful && (graceful.non2xx > 0 || graceful.errors > 0) ? 1 : 0;
}
