/**
 * gRPC's wire format over HTTP/2, the parts a unary and server-streaming server needs
 * (grpc/grpc doc/PROTOCOL-HTTP2.md): a message is a compressed flag byte, a 4-byte big-endian
 * length and the bytes; the status goes in `grpc-status` / `grpc-message` trailers, or in the
 * headers of a trailers-only response; a deadline arrives as `grpc-timeout`.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { PlatterError } from '../../errors.js';

/** The status codes this server sends (grpc/grpc doc/statuscodes.md). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A status the gRPC layer itself answers with (no serving error code behind it). */
export class GrpcStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcStatusError';
  }
}

/** The compressed flag and length before every message. */
export const MESSAGE_PREFIX = 5;

/** Writes the prefix of an uncompressed message of `length` bytes at the start of `buf`. */
export function writePrefix(buf: Buffer, length: number): void {
  buf[0] = 0;
  buf.writeUInt32BE(length, 1);
}

/** One uncompressed message with its prefix. */
export function framed(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(MESSAGE_PREFIX + message.length);
  writePrefix(out, message.length);
  out.set(message, MESSAGE_PREFIX);
  return out;
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** `grpc-timeout`: at most 8 digits and a unit (H M S m u n). Milliseconds, or null when malformed. */
export function parseTimeout(value: string): number | null {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  return m ? Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]! : null;
}

/** `grpc-message` is percent-encoded UTF-8: every byte outside 0x20..0x7E, and '%' itself. */
export function encodeGrpcMessage(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Request encodings we accept (`grpc-encoding`); grpc-js and gRPC's C core send these. */
export const ACCEPT_ENCODING = 'identity,deflate,gzip';

const inflate = promisify(zlib.inflate);
const gunzip = promisify(zlib.gunzip);

const moreThanOne = () => new PlatterError('INVALID_ARGUMENT', 'a unary call carries exactly one request message; this one had more bytes after it');

/**
 * Collects the one request message of a unary call from DATA chunks. The size limit is checked
 * against the prefix, before the bytes arrive, and again after decompression.
 */
export class UnaryMessageReader {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #expected = -1;

  constructor(private readonly maxBytes: number) {}

  /**
   * Throws PAYLOAD_TOO_LARGE as soon as the prefix announces a message over the limit, and
   * INVALID_ARGUMENT as soon as bytes arrive past the message (nothing is buffered beyond it).
   */
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#expected < 0 && this.#bytes >= MESSAGE_PREFIX) {
      const head = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks);
      this.#expected = head.readUInt32BE(1);
      this.#checkSize(this.#expected);
    }
    if (this.#expected >= 0 && this.#bytes > MESSAGE_PREFIX + this.#expected) throw moreThanOne();
  }

  /** The message bytes, decompressed with `encoding` when its flag says so. */
  async finish(encoding: string): Promise<Buffer> {
    if (this.#expected < 0 || this.#bytes < MESSAGE_PREFIX + this.#expected) {
      throw new PlatterError('INVALID_ARGUMENT', 'the call ended without a complete request message; send one length-prefixed GetOnlineFeaturesRequest');
    }
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#bytes);
    const body = all.subarray(MESSAGE_PREFIX);
    if (all[0] === 0) return body;
    if (all[0] !== 1) throw new PlatterError('INVALID_ARGUMENT', `message prefix flag ${all[0]} is neither 0 (plain) nor 1 (compressed)`);
    const opts = { maxOutputLength: this.maxBytes };
    try {
      if (encoding === 'gzip') return await gunzip(body, opts);
      if (encoding === 'deflate') return await inflate(body, opts);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') this.#checkSize(Infinity);
      throw new PlatterError('INVALID_ARGUMENT', `the request message does not decompress with grpc-encoding '${encoding}': ${(err as Error).message}`);
    }
    throw new PlatterError('INVALID_ARGUMENT', `the request message is flagged compressed but grpc-encoding is '${encoding}'; send grpc-encoding gzip or deflate`);
  }

  #checkSize(size: number): void {
    if (size > this.maxBytes) {
      const what = Number.isFinite(size) ? `of ${size} bytes` : 'decompressed';
      throw new PlatterError(
        'PAYLOAD_TOO_LARGE',
        `request message ${what} is over the limit of ${this.maxBytes} bytes; send fewer entity rows per call or raise platter.max_request_bytes`,
      );
    }
  }
}
