// A health ticker with 10 checks every 100 ms, and nothing else: what does it cost over time?
// argv: <seconds> <sample every seconds>. Prints one JSON line per sample. Run with --expose-gc.
import { createHealthTicker } from 'graceful-proc/health';

const [seconds = 30, every = 5] = process.argv.slice(2).map(Number);
let rounds = 0;
const checks = Object.fromEntries(
	Array.from({ length: 10 }, (_, i) => [
		`check${i}`,
		() => {
			if (i === 0) rounds += 1;
			return Promise.resolve(i);
		},
	]),
);
// The baseline: the same process with the same keep-alive timer and no ticker.
const withTicker = process.env.BENCH_NO_TICKER !== '1';
const interval = Number(process.env.BENCH_INTERVAL ?? 100);
const ticker = withTicker ? createHealthTicker({ checks, interval, timeout: Math.min(interval, 2000), proc: false }) : undefined;
ticker?.onChange(() => {});
const counter = setInterval(() => {}, 1 << 30);

let cpu = process.cpuUsage();
let at = performance.now();
const sample = (t) => {
	globalThis.gc?.();
	const now = performance.now();
	const used = process.cpuUsage(cpu);
	cpu = process.cpuUsage();
	const memory = process.memoryUsage();
	console.log(
		JSON.stringify({
			t,
			wallMs: now - at,
			cpuMs: (used.user + used.system) / 1000,
			heapUsed: memory.heapUsed,
			rss: memory.rss,
			rounds,
		}),
	);
	rounds = 0;
	at = now;
};
for (let t = every; t <= seconds; t += every) {
	await new Promise((resolve) => setTimeout(resolve, every * 1000));
	sample(t);
}
await ticker?.stop();
clearInterval(counter);
