// Registers and removes COUNT listeners with one library and prints the timings and the retained heap.
//   node --expose-gc listeners-child.mjs <graceful-proc | exit-hook> <fifo | lifo | random>
// The order is the order of removal: fifo removes the oldest first, lifo the newest first.
const [library, order = 'fifo'] = process.argv.slice(2);
const COUNT = Number(process.env.COUNT ?? 100_000);

// What the library returns is kept, as a user who may unregister later keeps it: graceful-proc's `wait`
// function (removed with `wait.remove()`), exit-hook's unsubscribe function.
let add;
let remove;
if (library === 'graceful-proc') {
	const { addWrapUpListener } = await import('graceful-proc');
	add = (fn) => addWrapUpListener(fn);
	remove = (wait) => wait.remove();
} else if (library === 'exit-hook') {
	const { asyncExitHook } = await import('exit-hook');
	add = (fn) => asyncExitHook(fn, { wait: 1000 });
	remove = (unsubscribe) => unsubscribe();
} else {
	throw new Error(`unknown library ${library}`);
}

// One function for every registration, so the numbers are what the library keeps, not the user's closures.
const listener = async () => {};
// The array that holds what add returned exists before the first heap reading; its own slots are not counted.
const removers = new Array(COUNT).fill(undefined);
const indexes = Array.from({ length: COUNT }, (_, i) => i);
if (order === 'lifo') indexes.reverse();
if (order === 'random') {
	// A fixed permutation (xorshift), the same in every run.
	let seed = 0x9e3779b9;
	for (let i = COUNT - 1; i > 0; i--) {
		seed ^= seed << 13;
		seed ^= seed >>> 17;
		seed ^= seed << 5;
		const j = (seed >>> 0) % (i + 1);
		[indexes[i], indexes[j]] = [indexes[j], indexes[i]];
	}
}

// Warm up the code paths (and install the process listeners, which happens with the first registration).
const keep = add(listener);
for (let i = 0; i < 1000; i++) remove(add(listener));

const heap = () => {
	globalThis.gc();
	globalThis.gc();
	return process.memoryUsage().heapUsed;
};
const before = heap();
let start = process.hrtime.bigint();
for (let i = 0; i < COUNT; i++) removers[i] = add(listener);
const addNs = Number(process.hrtime.bigint() - start);
const after = heap();
start = process.hrtime.bigint();
for (const i of indexes) remove(removers[i]);
const removeNs = Number(process.hrtime.bigint() - start);
remove(keep);
process.stdout.write(`${JSON.stringify({ addNs: addNs / COUNT, removeNs: removeNs / COUNT, bytes: (after - before) / COUNT })}\n`);
