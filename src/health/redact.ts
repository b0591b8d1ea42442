/**
 * Credentials out of text that leaves the process (probe bodies, log lines, warnings). Drivers put
 * connection strings in their errors (`connect ECONNREFUSED postgres://app:s3cret@db:5432/app`), HTTP
 * clients put URLs with `?token=` in theirs, and a probe port is reachable by more people than the logs.
 */

const MASK = '***';

/**
 * `scheme://userinfo@`: the whole userinfo goes, since a token alone (`https://ghp_x@github.com`) is a
 * secret too. Greedy up to the last `@` of the authority: a password may hold a raw `@`.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi;

/**
 * `password=...`, `client_secret: ...`, `"apiKey":"..."`, `PGPASSWORD=...`, `?access_token=...`: a key that
 * names a credential, optionally quoted, `=` or `:`, and its value (quoted, or up to a separator).
 */
const PAIR =
	/((?:^|[^\w-])["']?[\w.-]*?(?:pass(?:word|wd|phrase)?|pwd|token|secret|api[_-]?key|private[_-]?key|credentials?|session[_-]?id|cookie|auth(?:orization)?)["']?\s*[=:]\s*)("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|(?:bearer|basic|token)\s+[^\s&;,'"}\]]+|[^\s&;,'"}\]]+)/gi;

/** `Authorization: Bearer <token>` written without a key in front. */
const SCHEME_TOKEN = /\b(bearer|basic)\s+[a-z0-9._~+/=-]{8,}/gi;

function mask(value: string): string {
	const quote = value[0];
	return quote === '"' || quote === "'" ? `${quote}${MASK}${quote}` : MASK;
}

/** The text with URL userinfo and credential-like `key=value` pairs replaced by `***`. */
export function redact(text: string): string {
	return text
		.replace(URL_USERINFO, `$1${MASK}@`)
		.replace(PAIR, (_, key: string, value: string) => `${key}${mask(value)}`)
		.replace(SCHEME_TOKEN, `$1 ${MASK}`);
}
