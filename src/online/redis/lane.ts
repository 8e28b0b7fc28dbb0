/**
 * The read fast lane: one extra connection to the Redis server the ioredis client is connected
 * to, carrying only prebuilt read commands whose replies are parsed into offsets (resp.ts).
 *
 * ioredis stays the owner of the connection's life: it resolves where Redis is (host, sentinel),
 * authenticates, reconnects, and answers health checks. Every time it becomes ready the lane
 * (re)connects to the same address with the same credentials; while the lane is not ready the
 * reader uses ioredis. A request never waits for the lane to connect.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  PendingReplies,
  RespReplyError,
  RespReplyParser,
  encodeCommand,
  type RespReplies,
} from './resp.js';

export interface LaneOptions {
  readonly tls: boolean;
  /** TLS server name (the configured host). */
  readonly servername?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly db: number;
  /** Send READONLY first: a Redis Cluster replica answers reads of its master's slots only then. */
  readonly readOnly?: boolean | undefined;
  readonly connectionName: string;
  /** A batch not answered in this time is failed (the connection stays; its replies are skipped). */
  readonly commandTimeoutMs: number;
  /** Told when the lane drops or cannot connect (the reader falls back meanwhile). */
  readonly onError?: (err: Error) => void;
}

/**
 * SNI carries host names only (RFC 6066): for an IP address none is sent, and the certificate is
 * still checked against that address.
 */
function serverName(host: string): { servername?: string } {
  return isIP(host) === 0 ? { servername: host } : {};
}

class Batch extends PendingReplies {
  settled = false;
  readonly deadline: number;
  readonly resolve: (r: RespReplies) => void;
  readonly reject: (e: Error) => void;

  constructor(replies: number, hint: number, deadline: number, resolve: (r: RespReplies) => void, reject: (e: Error) => void) {
    super(replies, hint);
    this.deadline = deadline;
    this.resolve = resolve;
    this.reject = reject;
  }
}

/**
 * Below this many reply elements written and unanswered, a new turn's commands are written at
 * once instead of waiting for those replies (bench/ab.ts: 1x50 +6-9% req/s, 10x50 +7%, at the
 * same server CPU). 100x250, whose single request is 25,000 elements, keeps the wait: with none
 * it lost 7%.
 */
const SEND_BEHIND_ELEMENTS = 10_000;

export class RespLane {
  readonly #opts: LaneOptions;
  #sock: Socket | null = null;
  #ready = false;
  #closed = false;
  #target: { host: string; port: number } | null = null;
  #queue: Batch[] = [];
  #head = 0;
  /** Batches before this index of `#queue` are written; the rest wait in `#unsent`. */
  #sentUpTo = 0;
  #unsent: Buffer[] = [];
  #flushQueued = false;
  #parser = new RespReplyParser();
  #retry: NodeJS.Timeout | null = null;
  #attempts = 0;
  readonly #sweep: NodeJS.Timeout;
  readonly #onClose: (() => void)[] = [];
  readonly #readBuffer = Buffer.allocUnsafe(256 * 1024);

  constructor(opts: LaneOptions) {
    this.#opts = opts;
    // One timer for every batch in flight instead of one per batch.
    const every = Math.max(5, Math.min(250, Math.floor(opts.commandTimeoutMs / 4)));
    this.#sweep = setInterval(() => this.#expire(), every);
    this.#sweep.unref();
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** (Re)connect to `host:port`; a connection to another address is dropped first. */
  follow(host: string, port: number): void {
    if (this.#closed) return;
    const same = this.#target !== null && this.#target.host === host && this.#target.port === port;
    this.#target = { host, port };
    if (same && this.#sock !== null) return;
    this.#drop(new Error('Redis moved'));
    this.#attempts = 0;
    this.#connect();
  }

  /**
   * Sends `commands` (`replies` commands, prebuilt) and resolves with their replies' elements.
   * `elementsHint`: elements expected, to size the offset arrays once.
   */
  send(commands: Buffer, replies: number, elementsHint: number): Promise<RespReplies> {
    const sock = this.#sock;
    if (!this.#ready || sock === null) return Promise.reject(new Error('fast lane not connected'));
    return new Promise((resolve, reject) => {
      this.#queue.push(new Batch(replies, elementsHint, Date.now() + this.#opts.commandTimeoutMs, resolve, reject));
      this.#unsent.push(commands);
      // One write carries many requests' commands: those of one event-loop turn (the HTTP and
      // gRPC servers hand over every request they read in one poll phase before `setImmediate`
      // runs), and, while a large write is unanswered, all that arrive until its replies are in
      // (they would wait behind it in Redis anyway; each write wakes Redis and each reply wakes
      // us). Behind small unanswered writes the next turn's commands go at once: for one-entity
      // requests that wait cost ~10% of closed-loop throughput, for 100x250 the gate saves ~7%.
      if (!this.#flushQueued && (this.#head === this.#sentUpTo || this.#unansweredElements() < SEND_BEHIND_ELEMENTS)) {
        this.#flushQueued = true;
        setImmediate(this.#flushTurn);
      }
    });
  }

  /** Reply elements expected from written, unanswered batches. */
  #unansweredElements(): number {
    let n = 0;
    for (let i = this.#head; i < this.#sentUpTo; i++) n += this.#queue[i]!.elementsHint;
    return n;
  }

  readonly #flushTurn = () => {
    this.#flushQueued = false;
    this.#flush();
  };

  /** Writes every unsent command in one syscall. */
  #flush(): void {
    const sock = this.#sock;
    if (sock === null || this.#unsent.length === 0) return;
    sock.cork();
    for (const b of this.#unsent) sock.write(b);
    sock.uncork();
    this.#unsent.length = 0;
    this.#sentUpTo = this.#queue.length;
  }

  /** Runs `fn` when the lane is closed (to release what follows it). */
  onClose(fn: () => void): void {
    this.#onClose.push(fn);
  }

  close(): void {
    if (this.#closed) return;
    for (const fn of this.#onClose.splice(0)) fn();
    this.#closed = true;
    clearInterval(this.#sweep);
    if (this.#retry) clearTimeout(this.#retry);
    this.#drop(new Error('fast lane closed'));
  }

  #connect(): void {
    const t = this.#target;
    // A socket already open (follow() reconnected while a retry was pending): never a second one.
    if (t === null || this.#closed || this.#sock !== null) return;
    const o = this.#opts;
    // Plain TCP reads into one reused buffer (no Buffer and no stream 'data' event per read);
    // the parser copies out what a reply keeps. TLS sockets cannot, and use 'data'.
    const sock: Socket = o.tls
      ? tlsConnect({ host: t.host, port: t.port, ...serverName(o.servername ?? t.host) })
      : netConnect({
          host: t.host,
          port: t.port,
          onread: {
            buffer: this.#readBuffer,
            callback: (n: number, buf: Uint8Array) => {
              if (this.#sock === sock) this.#onData((buf as Buffer).subarray(0, n));
              return true;
            },
          },
        });
    // A fresh parser per socket: a dropped connection's half-read reply never leaks into the next.
    this.#parser = new RespReplyParser({ copyChunks: !o.tls });
    this.#sock = sock;
    // A server that never answers the connect: give up and retry like any other drop.
    sock.setTimeout(Math.max(this.#opts.commandTimeoutMs, 2000), () => sock.destroy());
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 30_000);
    if (o.tls) sock.on('data', (chunk: Buffer) => this.#sock === sock && this.#onData(chunk));
    sock.on('error', (err) => {
      this.#opts.onError?.(err);
    });
    sock.on('close', () => {
      if (this.#sock !== sock) return;
      this.#drop(new Error('Redis connection closed'));
      this.#scheduleRetry();
    });
    sock.once(o.tls ? 'secureConnect' : 'connect', () => {
      // The handshake goes through the same queue; the lane opens to requests once it is answered.
      const hello: Buffer[] = [];
      if (o.password !== undefined) hello.push(encodeCommand(o.username !== undefined ? ['AUTH', o.username, o.password] : ['AUTH', o.password]));
      if (o.db !== 0) hello.push(encodeCommand(['SELECT', String(o.db)]));
      if (o.readOnly) hello.push(encodeCommand(['READONLY']));
      hello.push(encodeCommand(['CLIENT', 'SETNAME', o.connectionName]));
      const batch = new Batch(
        hello.length,
        4,
        Date.now() + Math.max(this.#opts.commandTimeoutMs, 2000),
        () => {
          if (this.#sock !== sock) return;
          sock.setTimeout(0);
          this.#ready = true;
          this.#attempts = 0;
        },
        (err) => {
          this.#opts.onError?.(new Error(`fast lane handshake failed: ${err.message}`));
          sock.destroy();
        },
      );
      this.#queue.push(batch);
      this.#sentUpTo = this.#queue.length;
      sock.write(Buffer.concat(hello));
    });
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry !== null) return;
    const delay = Math.min(50 * 2 ** Math.min(this.#attempts++, 6), 2000);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#connect();
    }, delay);
    this.#retry.unref();
  }

  #onData(chunk: Buffer): void {
    try {
      this.#parser.feed(
        chunk,
        () => this.#queue[this.#head],
        (p, data) => this.#complete(p as Batch, data),
      );
    } catch (err) {
      // Out of step with the stream: nothing after this point can be trusted.
      this.#opts.onError?.(err as Error);
      this.#sock?.destroy();
      return;
    }
    // Every write is answered: send what arrived meanwhile.
    if (this.#head === this.#sentUpTo) this.#flush();
  }

  #complete(b: Batch, data: Buffer): void {
    this.#head++;
    if (this.#head === this.#queue.length) {
      // Nothing unanswered, so nothing unsent either.
      this.#queue.length = 0;
      this.#head = 0;
      this.#sentUpTo = 0;
    } else if (this.#head >= 1024) {
      this.#queue = this.#queue.slice(this.#head);
      this.#sentUpTo -= this.#head;
      this.#head = 0;
    }
    if (b.settled) return;
    b.settled = true;
    if (b.error !== null) {
      b.reject(new RespReplyError(b.error));
      return;
    }
    b.resolve({ data, start: b.start, length: b.length, count: b.count, replyElements: b.replyElements, memory: b.memory, dataMemory: b.copyBuf?.buffer as ArrayBuffer | undefined });
  }

  /** Fails batches past their deadline; a lane whose oldest batch is long overdue is reconnected. */
  #expire(): void {
    if (this.#head === this.#queue.length) return;
    const now = Date.now();
    for (let i = this.#head; i < this.#queue.length; i++) {
      const b = this.#queue[i]!;
      if (b.deadline > now) break;
      if (!b.settled) {
        b.settled = true;
        b.reject(new Error(`Redis did not answer within ${this.#opts.commandTimeoutMs} ms (command timed out)`));
      }
    }
    const oldest = this.#queue[this.#head]!;
    if (now - oldest.deadline > Math.max(10_000, 10 * this.#opts.commandTimeoutMs)) {
      this.#opts.onError?.(new Error('Redis stopped answering the fast lane; reconnecting'));
      this.#sock?.destroy();
    }
  }

  #drop(err: Error): void {
    this.#ready = false;
    const sock = this.#sock;
    this.#sock = null;
    if (sock !== null) sock.destroy();
    const pending = this.#queue;
    const head = this.#head;
    this.#queue = [];
    this.#head = 0;
    this.#sentUpTo = 0;
    this.#unsent = [];
    for (let i = head; i < pending.length; i++) {
      const b = pending[i]!;
      if (!b.settled) {
        b.settled = true;
        b.reject(err);
      }
    }
  }
}
