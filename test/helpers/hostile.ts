/** Values an application can throw that have no usable string form, or whose string form throws. */
export function hostileValues(): Array<[string, unknown]> {
	const throwing = () => {
		throw new Error('getter exploded');
	};
	const errorWithThrowingStack = new Error('stack getter throws');
	Object.defineProperty(errorWithThrowingStack, 'stack', { get: throwing });
	const errorWithThrowingMessage = new Error('x');
	// Stack first: redefining it makes V8 format the trace, which reads the message.
	Object.defineProperty(errorWithThrowingMessage, 'stack', { get: throwing });
	Object.defineProperty(errorWithThrowingMessage, 'message', { get: throwing });
	const throwsProxy = new Proxy({}, { get: throwing, getPrototypeOf: throwing, ownKeys: throwing, has: throwing, getOwnPropertyDescriptor: throwing });
	const revocable = Proxy.revocable({}, {});
	revocable.revoke();
	const bigintHolder = Object.assign(Object.create(null), { amount: 10n });
	const cyclic: Record<string, unknown> = {};
	cyclic.self = cyclic;
	return [
		['Object.create(null)', Object.create(null)],
		['an error whose stack getter throws', errorWithThrowingStack],
		['an error whose message and stack getters throw', errorWithThrowingMessage],
		['an object whose toString and toJSON throw', { toString: throwing, toJSON: throwing }],
		['a Proxy whose every trap throws', throwsProxy],
		['a revoked Proxy', revocable.proxy],
		['a null-prototype object holding a BigInt', bigintHolder],
		['a cyclic object with no toString', Object.assign(Object.create(null), { cyclic })],
		['a Symbol', Symbol('s')],
		['a BigInt', 12n],
		['a function that throws on name', Object.defineProperty(() => {}, 'name', { get: throwing })],
	];
}
