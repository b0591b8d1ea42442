import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeError } from '../../src/describe-error.js';
import { hostileValues } from '../helpers/hostile.js';

describe('describeError() turns anything into text and never throws', () => {
	it.each(hostileValues())('describes %s', (_label, value) => {
		const text = describeError(value);
		expect(typeof text).toBe('string');
		expect(text.length).toBeGreaterThan(0);
		expect(typeof describeError(value, { stack: true })).toBe('string');
	});

	it('shows an Error as `name: message`, and its stack only when asked', () => {
		const error = new TypeError('bad thing');
		expect(describeError(error)).toBe('TypeError: bad thing');
		expect(describeError(error, { stack: true })).toMatch(/^TypeError: bad thing\n\s+at /);
	});

	it('falls back to name and message when the stack getter throws', () => {
		const [, value] = hostileValues()[1]!;
		expect(describeError(value, { stack: true })).toBe('Error: stack getter throws');
	});

	it('shows plain objects as JSON, BigInts included, and strings as they are', () => {
		expect(describeError({ code: 'E_X', n: 1 })).toBe('{"code":"E_X","n":1}');
		expect(describeError(Object.assign(Object.create(null), { amount: 10n }))).toBe('{"amount":"10n"}');
		expect(describeError('SIGTERM')).toBe('SIGTERM');
		expect(describeError(undefined)).toBe('undefined');
		expect(describeError(null)).toBe('null');
		expect(describeError(42)).toBe('42');
	});

	it('uses an object’s own toString when it has one', () => {
		expect(describeError({ toString: () => 'custom text' })).toBe('custom text');
	});

	it('says a value cannot be shown rather than throwing, for a Proxy whose traps all throw', () => {
		const [, value] = hostileValues()[4]!;
		expect(describeError(value)).toBe('[object that cannot be shown]');
	});

	it('cuts a huge message', () => {
		expect(describeError(new Error('x'.repeat(10_000)))).toHaveLength(2001);
	});
});

describe('describeError() on anything fast-check can make', () => {
	it('returns a non-empty string for any value, null-prototype objects, BigInts and boxed values included', () => {
		fc.assert(
			fc.property(fc.anything({ withNullPrototype: true, withBigInt: true, withBoxedValues: true, withMap: true, withSet: true, withObjectString: true, withTypedArray: true, withSparseArray: true }), fc.boolean(), (value, stack) => {
				const text = describeError(value, { stack });
				return typeof text === 'string' && text.length > 0 && text.length <= 2001;
			}),
			{ numRuns: 500 },
		);
	});
});
