/**
 * A minimal RESP2 client: the floor for the Redis reads of a request. One net.Socket; a request's
 * commands are prebuilt bytes (`*N\r\n$len\r\n...`) written in one `write`; replies are parsed by
 * counting (array headers and bulk lengths; cells are only sliced out when asked for), in order,
 * for any number of requests in flight. No retries, reconnects, command objects or promises per
 * command — what is left is the syscalls and the reply scan, which every Redis client pays.
 */
import { Socket } from 'node:net';

const CRLF = Buffer.from('\r\n');

/** `*N\r\n$len\r\narg\r\n...`: one command in RESP. */
export function encodeCommand(args: readonly (Buffer | string)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

interface Pending {
  /** Top-level replies still expected. */
  left: number;
  /** Cells of each array reply, when collected. */
  readonly rows: (Buffer | null)[][] | null;
  bytes: number;
  resolve(r: RespResult): void;
  reject(err: Error): void;
}

export interface RespResult {
  /** Bytes of the non-null bulk cells. */
  readonly bytes: number;
  /** One array of cells per array reply (null cell = nil), when `collect` was set. */
  readonly rows: (Buffer | null)[][] | null;
}

export class RespClient {
  readonly #sock: Socket;
  readonly #queue: Pending[] = [];
  #head = 0;
  #rest: Buffer | null = null;
  /** Elements left in the array reply being parsed; 0 = expecting a new top-level reply. */
  #arrayLeft = 0;
  #row: (Buffer | null)[] | null = null;

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.#onData(chunk));
    const fail = (err: Error) => {
      for (let i = this.#head; i < this.#queue.length; i++) this.#queue[i]!.reject(err);
      this.#queue.length = 0;
      this.#head = 0;
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('redis connection closed')));
  }

  static async connect(host: string, port: number, opts: { password?: string | null; db?: number } = {}): Promise<RespClient> {
    const sock = new Socket();
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(port, host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    const c = new RespClient(sock);
    if (opts.password) await c.send(encodeCommand(['AUTH', opts.password]), 1);
    if (opts.db) await c.send(encodeCommand(['SELECT', String(opts.db)]), 1);
    return c;
  }

  /** Writes `commands` (prebuilt, `replies` commands long) and resolves when all their replies are in. */
  send(commands: Buffer, replies: number, collect = false): Promise<RespResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ left: replies, rows: collect ? [] : null, bytes: 0, resolve, reject });
      this.#sock.write(commands);
    });
  }

  close(): void {
    this.#sock.destroy();
  }

  #onData(chunk: Buffer): void {
    const buf = this.#rest === null ? chunk : Buffer.concat([this.#rest, chunk]);
    this.#rest = null;
    let pos = 0;
    const end = buf.length;
    while (pos < end) {
      const p = this.#queue[this.#head];
      if (p === undefined) return this.#protocolError(buf, pos, 'a reply with no request waiting');
      // Header line: type byte, then an integer (or text for + and -) up to \r\n.
      const type = buf[pos]!;
      let i = pos + 1;
      const neg = buf[i] === 45;
      if (neg) i++;
      let n = 0;
      for (let c = buf[i]; i < end && c !== 13; c = buf[++i]) n = n * 10 + (c! - 48);
      if (i + 1 >= end) break; // the header line is not all here yet
      if (neg) n = -n;
      let next = i + 2;
      if (type === 36 /* $ */) {
        if (n >= 0) {
          if (next + n + 2 > end) break; // the bulk is not all here yet
          p.bytes += n;
          this.#row?.push(buf.subarray(next, next + n));
          next += n + 2;
        } else {
          this.#row?.push(null);
        }
        pos = next;
        if (this.#arrayLeft > 0 && --this.#arrayLeft > 0) continue;
      } else if (this.#arrayLeft > 0) {
        return this.#protocolError(buf, pos, 'a nested reply (only arrays of bulk strings are parsed)');
      } else if (type === 42 /* * */) {
        pos = next;
        if (n > 0) {
          this.#arrayLeft = n;
          this.#row = p.rows === null ? null : [];
          if (this.#row !== null) p.rows!.push(this.#row);
          continue;
        }
        p.rows?.push([]);
      } else if (type === 43 /* + */ || type === 58 /* : */) {
        pos = next;
      } else if (type === 45 /* - */) {
        p.reject(new Error(`redis: ${buf.toString('latin1', pos + 1, i)}`));
        pos = next;
      } else {
        return this.#protocolError(buf, pos, 'an unknown reply type');
      }
      // One top-level reply is complete.
      this.#row = null;
      if (--p.left === 0) {
        this.#head++;
        if (this.#head === this.#queue.length) {
          this.#queue.length = 0;
          this.#head = 0;
        } else if (this.#head > 1024) {
          this.#queue.splice(0, this.#head);
          this.#head = 0;
        }
        p.resolve({ bytes: p.bytes, rows: p.rows });
      }
    }
    if (pos < end) this.#rest = buf.subarray(pos);
  }

  #protocolError(buf: Buffer, pos: number, what: string): void {
    const err = new Error(`RESP: ${what} at byte ${pos}: ${JSON.stringify(buf.toString('latin1', pos, Math.min(buf.length, pos + 20)))}`);
    this.#sock.destroy(err);
  }
}
