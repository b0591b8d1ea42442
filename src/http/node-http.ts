// node:http and node:http2, taken from the runtime when first used rather than imported, so that importing
// `graceful-proc/http` opens no handle: loading either one can make Node open its stderr pipe (see nodeHttp).
import type * as Http from 'node:http';
import type * as Http2 from 'node:http2';

let http: typeof Http | undefined;
let http2: typeof Http2 | undefined;

/**
 * node:http. An ESM import of it makes Node build its ESM exports, which on Node 22 and later reads the lazy
 * `WebSocket` export, loads undici and, through node:assert, opens the stderr pipe; taken from the runtime, the
 * module is the same and nothing else is loaded. process.getBuiltinModule is in every runtime the package
 * supports (Node from 20.16, Bun, Deno from 2.1), and works the same from the ESM and the CommonJS build.
 */
export function nodeHttp(): typeof Http {
	return (http ??= globalThis.process.getBuiltinModule('node:http') as typeof Http);
}

/** node:http2, which loads node:assert, and so opens the stderr pipe, on Node 20. Only HTTP/2 requests need it. */
export function nodeHttp2(): typeof Http2 {
	return (http2 ??= globalThis.process.getBuiltinModule('node:http2') as typeof Http2);
}
