/**
 * The bin's URL probe (`graceful-proc probe <url>`): one GET, healthy on a 2xx within the timeout, and what was
 * seen in one line, for images without curl.
 */
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { formatDuration } from './parse-duration.js';

export interface ProbeResult {
	readonly ok: boolean;
	/** One line: what was seen. */
	readonly message: string;
}

/** Enough of the body to show a probe's `reason`, not enough to flood a Docker health log. */
const MAX_BODY = 300;

/**
 * One GET to `url`: ok on a 2xx within `timeout` ms, whatever the reason otherwise. No redirects are
 * followed and no connection is kept, so the process can end as soon as the answer is in.
 */
export async function probeUrl(url: URL, timeout: number, insecure: boolean): Promise<ProbeResult> {
	// Only the module the URL needs: the CLI starts on every probe, in images that count milliseconds.
	const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
	return new Promise((resolve) => {
		let done = false;
		let req: ClientRequest | undefined;
		const finish = (result: ProbeResult) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			req?.destroy();
			resolve(result);
		};
		const timer = setTimeout(() => finish({ ok: false, message: `no answer from ${url.href} within ${formatDuration(timeout)}` }), timeout);
		const options: RequestOptions & { rejectUnauthorized?: boolean } = {
			method: 'GET',
			agent: false,
			headers: { accept: 'application/json, text/plain;q=0.9, */*;q=0.1', 'user-agent': 'graceful-proc-probe', connection: 'close' },
		};
		if (insecure) options.rejectUnauthorized = false;
		req = request(url, options, (res: IncomingMessage) => {
			const code = res.statusCode ?? 0;
			const what = `${url.href} answered ${code}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
			if (code >= 200 && code < 300) {
				finish({ ok: true, message: what });
				return;
			}
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => {
				body += chunk;
				if (body.length >= MAX_BODY) res.destroy();
			});
			const end = () => {
				const shown = body.replace(/\s+/g, ' ').trim().slice(0, MAX_BODY);
				finish({ ok: false, message: shown ? `${what}: ${shown}` : what });
			};
			res.on('end', end);
			res.on('close', end);
			res.on('error', end);
		});
		req.on('error', (error: NodeJS.ErrnoException) => {
			const code = error.code && !error.message.includes(error.code) ? `${error.code} ` : '';
			finish({ ok: false, message: `cannot reach ${url.href}: ${code}${error.message}` });
		});
		req.end();
	});
}
