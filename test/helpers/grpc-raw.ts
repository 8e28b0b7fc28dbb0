/**
 * gRPC calls written by hand on a node:http2 session, for what a generated client never sends
 * (compressed or split messages, unknown methods, bad headers) and for reading the exact status,
 * headers and message bytes that came back.
 */
import http2 from 'node:http2';

export interface RawAnswer {
  /** HTTP :status of the response headers. */
  readonly httpStatus: number;
  readonly headers: http2.IncomingHttpHeaders;
  /** From the trailers, or from the headers of a trailers-only response; null if neither had one. */
  readonly grpcStatus: number | null;
  /** grpc-message, percent-decoded. */
  readonly grpcMessage: string;
  /** Every DATA byte (message prefixes included). */
  readonly body: Buffer;
}

/** A message with gRPC's 5-byte prefix: flag (1 = compressed), 4-byte big-endian length. */
export function prefixed(message: Uint8Array, compressed = false, announcedLength = message.length): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(announcedLength, 1);
  out.set(message, 5);
  return out;
}

/** The messages of a response body, prefixes removed. */
export function messages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const len = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return out;
}

export function connectRaw(address: string, settings: http2.Settings = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://${address}`, { settings });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** One call: `chunks` are written as separate DATA writes, then the request ends. */
export function rawCall(session: http2.ClientHttp2Session, path: string, chunks: Buffer[], headers: http2.OutgoingHttpHeaders = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    const data: Buffer[] = [];
    let httpStatus = 0;
    let head: http2.IncomingHttpHeaders = {};
    let status: unknown;
    let message: unknown;
    req.on('response', (h) => {
      head = h;
      httpStatus = Number(h[':status']);
      status = h['grpc-status'];
      message = h['grpc-message'];
    });
    req.on('trailers', (h) => {
      status = h['grpc-status'];
      message = h['grpc-message'];
    });
    req.on('data', (c: Buffer) => data.push(c));
    req.on('error', reject);
    req.on('close', () =>
      resolve({
        httpStatus,
        headers: head,
        grpcStatus: status === undefined ? null : Number(status),
        grpcMessage: decodeURIComponent(String(message ?? '')),
        body: Buffer.concat(data),
      }),
    );
    for (const c of chunks) req.write(c);
    req.end();
  });
}
