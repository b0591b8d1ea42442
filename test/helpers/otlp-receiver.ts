// A local OpenTelemetry collector for the recipes' tests: an OTLP/HTTP receiver on 127.0.0.1 that decodes the JSON
// protocol (`http/json`, what @opentelemetry/exporter-trace-otlp-http sends) and keeps every span it was sent.
// Metrics and logs, and any protobuf body, are answered 200 and counted by path, not decoded.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
	traceId: string;
	spanId: string;
	parentSpanId?: string;
	name: string;
	/** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
	kind: number;
	startMs: number;
	endMs: number;
	attributes: Record<string, unknown>;
	status?: { code?: number; message?: string };
	/** Date.now() when the receiver got it. */
	receivedAt: number;
}

export interface OtlpReceiver {
	/** `http://127.0.0.1:<port>`, for OTEL_EXPORTER_OTLP_ENDPOINT. */
	readonly url: string;
	readonly spans: ReceivedSpan[];
	/** How many export requests came, by path (`/v1/traces`, `/v1/metrics`, ...). */
	readonly requests: Record<string, number>;
	/** Bodies that could not be decoded as OTLP JSON traces, with why. */
	readonly rejected: string[];
	/** The server spans' paths (`url.path`, or `http.target` in the older semantic conventions). */
	serverPaths(): Set<string>;
	close(): Promise<void>;
}

/** OTLP JSON's AnyValue: `{ stringValue }`, `{ intValue }` (a string for 64-bit), `{ boolValue }`, ... */
function valueOf(any: Record<string, unknown> | undefined): unknown {
	if (any === undefined) return undefined;
	if ('stringValue' in any) return any.stringValue;
	if ('intValue' in any) return Number(any.intValue);
	if ('doubleValue' in any) return any.doubleValue;
	if ('boolValue' in any) return any.boolValue;
	if ('arrayValue' in any) return ((any.arrayValue as { values?: Array<Record<string, unknown>> }).values ?? []).map(valueOf);
	return any;
}

function nanosToMs(value: unknown): number {
	return Number(BigInt(String(value)) / 1_000_000n);
}

interface OtlpSpan {
	traceId: string;
	spanId: string;
	parentSpanId?: string;
	name: string;
	kind: number;
	startTimeUnixNano: string | number;
	endTimeUnixNano: string | number;
	attributes?: Array<{ key: string; value: Record<string, unknown> }>;
	status?: { code?: number; message?: string };
}

function decodeTraces(body: string, receivedAt: number): ReceivedSpan[] {
	const request = JSON.parse(body) as { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: OtlpSpan[] }> }> };
	if (!Array.isArray(request.resourceSpans)) throw new Error('no resourceSpans');
	const spans: ReceivedSpan[] = [];
	for (const resource of request.resourceSpans) {
		for (const scope of resource.scopeSpans ?? []) {
			for (const span of scope.spans ?? []) {
				spans.push({
					traceId: span.traceId,
					spanId: span.spanId,
					...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
					name: span.name,
					kind: span.kind,
					startMs: nanosToMs(span.startTimeUnixNano),
					endMs: nanosToMs(span.endTimeUnixNano),
					attributes: Object.fromEntries((span.attributes ?? []).map(({ key, value }) => [key, valueOf(value)])),
					...(span.status ? { status: span.status } : {}),
					receivedAt,
				});
			}
		}
	}
	return spans;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
	const spans: ReceivedSpan[] = [];
	const requests: Record<string, number> = {};
	const rejected: string[] = [];
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		// An exporter in a process that exits mid-request: nothing to answer.
		req.on('error', () => {});
		res.on('error', () => {});
		req.on('end', () => {
			const path = (req.url ?? '/').split('?')[0]!;
			requests[path] = (requests[path] ?? 0) + 1;
			if (path === '/v1/traces' && /json/.test(req.headers['content-type'] ?? '')) {
				try {
					spans.push(...decodeTraces(Buffer.concat(chunks).toString('utf8'), Date.now()));
				} catch (error) {
					rejected.push(`${path}: ${(error as Error).message}`);
				}
			} else if (path === '/v1/traces') {
				rejected.push(`${path}: not JSON (${req.headers['content-type']})`);
			}
			res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		spans,
		requests,
		rejected,
		serverPaths() {
			const paths = new Set<string>();
			for (const span of spans) {
				if (span.kind !== 2) continue;
				const path = span.attributes['url.path'] ?? span.attributes['http.target'];
				if (typeof path === 'string') paths.add(path.split('?')[0]!);
			}
			return paths;
		},
		close() {
			server.closeAllConnections();
			return new Promise((resolve) => server.close(() => resolve()));
		},
	};
}
