import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redact } from '../../src/health/redact.js';

describe('redact() takes credentials out of text that leaves the process', () => {
	it.each([
		['URL userinfo', 'connect ECONNREFUSED postgres://app:s3cret@db:5432/app', 'connect ECONNREFUSED postgres://***@db:5432/app'],
		['a password holding @', 'redis://:p@ss@cache:6379 down', 'redis://***@cache:6379 down'],
		['a token as the user', 'https://ghp_abc@github.com/x', 'https://***@github.com/x'],
		['query parameters', 'GET /x?token=abc&page=2&access_token=a.b.c', 'GET /x?token=***&page=2&access_token=***'],
		['key=value pairs', 'password=hunter2 user=app secret=S2 apikey=K1 api-key=K2 api_key=K3', 'password=*** user=app secret=*** apikey=*** api-key=*** api_key=***'],
		['environment-style keys', 'PGPASSWORD=xyz CLIENT_SECRET=abc', 'PGPASSWORD=*** CLIENT_SECRET=***'],
		['JSON', '{"password":"s3cret","user":"app","apiKey":"k"}', '{"password":"***","user":"app","apiKey":"***"}'],
		['JS object literals', "{ password: 's3cret', token: 't' }", "{ password: '***', token: '***' }"],
		['an Authorization header', 'Authorization: Bearer eyJhbGciOi.xx.yy', 'Authorization: ***'],
		['a bare bearer token', 'sent Bearer eyJhbGciOiJIUzI1NiJ9 upstream', 'sent Bearer *** upstream'],
	])('redacts %s', (_, text, expected) => {
		expect(redact(text)).toBe(expected);
	});

	it.each([
		'password authentication failed for user "app"',
		'timed out after 2000 ms',
		'connect ECONNREFUSED 10.0.0.1:5432',
		'GET http://127.0.0.1:3000/readyz answered 503',
		'failing: db, cache',
	])('leaves text without credentials as it is: %s', (text) => {
		expect(redact(text)).toBe(text);
	});

	it('never lets a value after a credential key or in URL userinfo through', () => {
		// Passwords may hold any of these, a raw @ and : included.
		const secret = fc.stringMatching(/^[A-Za-z0-9!$%()*+.:;<>@[\]^_`{|}~-]{4,20}$/);
		const key = fc.constantFrom('password', 'token', 'secret', 'apikey', 'api_key', 'PGPASSWORD', 'client_secret', 'access_token', 'passwd', 'pwd');
		fc.assert(
			fc.property(key, fc.stringMatching(/^[A-Za-z0-9]{6,20}$/), fc.constantFrom('=', ': ', ' = '), fc.string({ maxLength: 20 }), (k, value, sep, prefix) => {
				const text = `${prefix.replace(/[A-Za-z0-9]/g, ' ')} ${k}${sep}${value}&next=1`;
				expect(redact(text)).not.toContain(value);
			}),
		);
		fc.assert(
			fc.property(fc.stringMatching(/^[a-z0-9]{3,12}$/), secret, (user, password) => {
				const text = `connect postgres://${user}:${password}Z@db:5432/app`;
				expect(redact(text)).toBe('connect postgres://***@db:5432/app');
			}),
		);
	});
});
