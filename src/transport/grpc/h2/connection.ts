/**
 * The server side of one HTTP/2 connection (RFC 9113), cleartext, as much of the protocol as a
 * gRPC server needs: streams opened by the client's HEADERS, request DATA delivered as it arrives,
 * responses sent as HEADERS, DATA within the peer's flow-control windows, and trailing HEADERS.
 *
 * Why not node:http2: each call there builds an Http2Stream (a Duplex), header objects, and goes
 * through nghttp2's submit/send rounds; at 1-10 feature rows that is most of the server's CPU per
 * call (bench/grpc-floor.ts). Here a call costs a header-block decode (mostly dynamic-table hits,
 * hpack.ts), two frame parses, and its response frames join the other responses of the same tick
 * in one socket write.
 *
 * Protections: every protocol violation ends the connection with GOAWAY and the RFC's code; header
 * blocks are capped (SETTINGS_MAX_HEADER_LIST_SIZE, and CONTINUATION size); streams are capped
 * (SETTINGS_MAX_CONCURRENT_STREAMS, refused beyond); a client that resets streams faster than
 * RESETS_PER_SECOND is sent ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487); reading stops while
 * the socket holds more than a quarter of maxUnsentBytes (a client that does not read), and the
 * connection is dropped past all of it (answers to streams opened before the pause, with windows
 * the client made large); request bodies left unfinished across a connection's streams are capped
 * (maxUnfinishedRequestBytes, ENHANCE_YOUR_CALM past it); a connection that sends no preface and SETTINGS within
 * PREFACE_TIMEOUT_MS is dropped.
 */
import type { Socket } from 'node:net';
import { HpackDecoder, HpackError, encodeHeaderBlock } from './hpack.js';
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  FRAME_HEADER,
  Flag,
  FrameType,
  H2Error,
  LARGEST_MAX_FRAME,
  MAX_WINDOW,
  PREFACE,
  Setting,
  frame,
  goawayFrame,
  settingsFrame,
  u32Frame,
  writeFrameHeader,
} from './frames.js';

/** Receive window per stream and per connection that we grant (raised from 64 KiB at once). */
const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 16 << 20;
/** A header block bigger than this, compressed, ends the connection (CONTINUATION flood). */
const MAX_HEADER_BLOCK = 256 * 1024;
const RESETS_PER_SECOND = 1000;
/** The default for H2Options.maxUnsentBytes (node:http2's maxSessionMemory is of this order). */
const MAX_UNSENT = 256 << 20;
/** The default for H2Options.maxUnfinishedRequestBytes. */
const MAX_UNFINISHED = 64 << 20;
const PREFACE_TIMEOUT_MS = 10_000;
const KEEPALIVE_MS = 60_000;

export interface H2Options {
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListSize: number;
  /** A new stream, headers decoded; set its onData/onEnd/onClose before returning. */
  readonly onStream: (stream: H2Stream) => void;
  /** Bytes the socket may hold unsent before the connection is dropped (default 256 MiB). */
  readonly maxUnsentBytes?: number;
  /** Request body bytes the connection may hold for requests not yet finished (default 64 MiB). */
  readonly maxUnfinishedRequestBytes?: number;
  /** The connection was dropped because its client stopped reading. */
  readonly onDrop?: (reason: string) => void;
  /** An exception out of a stream callback: the connection is ended (INTERNAL_ERROR), the process goes on. */
  readonly onError?: (err: unknown) => void;
}

/** Data waiting for flow-control window: `done` runs once its last byte is written to the socket. */
interface Piece {
  readonly buf: Buffer;
  off: number;
  readonly done: (() => void) | undefined;
}

export class H2Stream {
  onData: ((chunk: Buffer) => void) | null = null;
  onEnd: (() => void) | null = null;
  /** Once, when the stream is gone for any reason (answered, reset by the client, connection lost). */
  onClose: (() => void) | null = null;
  headersSent = false;
  closed = false;
  remoteEnded = false;
  localEnded = false;
  sendWindow: number;
  recvWindow = STREAM_WINDOW;
  recvConsumed = 0;
  /** Request body bytes received while the request is unfinished (counted per connection). */
  unfinishedBytes = 0;
  readonly queue: Piece[] = [];
  trailers: Buffer | null = null;

  constructor(
    readonly conn: H2Connection,
    readonly id: number,
    readonly headers: readonly [string, string][],
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }

  /** A request header's value (the first if repeated). */
  header(name: string): string | undefined {
    for (const [n, v] of this.headers) if (n === name) return v;
    return undefined;
  }

  /** Response headers (an HPACK block); endStream makes it a trailers-only response. */
  respond(block: Buffer, endStream = false): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    this.conn.sendHeaders(this, block, endStream);
  }

  /** Response DATA; `done` runs when the socket has written all of it (then `data` may be reused). */
  write(data: Buffer, done?: () => void): void {
    if (this.closed || this.localEnded || this.trailers !== null) return;
    this.queue.push({ buf: data, off: 0, done });
    this.conn.flush(this);
  }

  /** Trailers (an HPACK block), sent after every queued byte of DATA; ends the stream. */
  end(trailers: Buffer): void {
    if (this.closed || this.localEnded || this.trailers !== null) return;
    this.trailers = trailers;
    this.conn.flush(this);
  }

  reset(code: number): void {
    this.conn.resetStream(this, code);
  }
}

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class H2Connection {
  readonly #socket: Socket;
  readonly #opts: H2Options;
  readonly #decoder: HpackDecoder;
  readonly #streams = new Map<number, H2Stream>();
  /** Streams with DATA waiting for window. */
  readonly #blocked = new Set<H2Stream>();
  #pending: Buffer | null = null;
  #prefaceSeen = false;
  #settingsSeen = false;
  #lastStreamId = 0;
  #sendWindow = DEFAULT_WINDOW;
  #recvWindow = CONNECTION_WINDOW;
  #recvConsumed = 0;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = DEFAULT_MAX_FRAME;
  #continuation: { id: number; endStream: boolean; parts: Buffer[]; size: number } | null = null;
  #corked = false;
  #paused = false;
  #goingAway = false;
  #dead = false;
  #resetWindowStart = 0;
  #resets = 0;
  #prefaceTimer: NodeJS.Timeout | null;
  readonly #maxUnsent: number;
  readonly #maxUnfinished: number;
  #unfinishedBytes = 0;

  constructor(socket: Socket, opts: H2Options) {
    this.#socket = socket;
    this.#opts = opts;
    this.#maxUnsent = opts.maxUnsentBytes ?? MAX_UNSENT;
    this.#maxUnfinished = opts.maxUnfinishedRequestBytes ?? MAX_UNFINISHED;
    this.#decoder = new HpackDecoder(4096, opts.maxHeaderListSize);
    socket.setNoDelay(true);
    // gRPC channels stay open for the client's lifetime; TCP keepalive finds the peers that vanished.
    socket.setKeepAlive(true, KEEPALIVE_MS);
    this.#write(
      settingsFrame([
        [Setting.MAX_CONCURRENT_STREAMS, opts.maxConcurrentStreams],
        [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
        [Setting.MAX_HEADER_LIST_SIZE, opts.maxHeaderListSize],
        [Setting.ENABLE_PUSH, 0],
      ]),
    );
    this.#write(u32Frame(FrameType.WINDOW_UPDATE, 0, 0, CONNECTION_WINDOW - DEFAULT_WINDOW));
    this.#prefaceTimer = setTimeout(() => this.destroy(), PREFACE_TIMEOUT_MS);
    this.#prefaceTimer.unref();
    socket.on('data', (chunk: Buffer) => this.#onBytes(chunk));
    socket.on('drain', () => {
      if (this.#paused && !this.#dead) {
        this.#paused = false;
        socket.resume();
      }
    });
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.#closeAll());
  }

  /** Stops taking new streams (GOAWAY NO_ERROR); the socket ends once the open ones finish. */
  shutdown(): void {
    if (this.#goingAway || this.#dead) return;
    this.#goingAway = true;
    this.#write(goawayFrame(this.#lastStreamId, H2Error.NO_ERROR));
    if (this.#streams.size === 0) this.#socket.end();
  }

  destroy(): void {
    if (this.#dead) return;
    this.#dead = true;
    if (this.#prefaceTimer !== null) clearTimeout(this.#prefaceTimer);
    this.#socket.destroy();
    this.#closeAll();
  }

  // ---- writing ----

  /**
   * Every write of one tick goes out in one writev: the socket is corked at the first write and
   * uncorked after the tick's promise jobs have run (responses finished by one Redis reply).
   */
  #write(buf: Buffer, cb?: (err?: Error | null) => void): void {
    if (this.#dead) return;
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(uncork, this);
    }
    this.#socket.write(buf, cb);
    const unsent = this.#socket.writableLength;
    if (unsent > this.#maxUnsent / 4 && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
    if (unsent > this.#maxUnsent) {
      this.#opts.onDrop?.(`the client left ${unsent} bytes unread (over ${this.#maxUnsent}); connection dropped`);
      this.destroy();
    }
  }

  /** @internal */
  uncork(): void {
    this.#corked = false;
    this.#socket.uncork();
  }

  /** @internal */
  sendHeaders(stream: H2Stream, block: Buffer, endStream: boolean): void {
    // HEADERS, then CONTINUATION frames for a block over the peer's frame size.
    const max = this.#peerMaxFrame;
    for (let at = 0; ; at += max) {
      const last = at + max >= block.length;
      const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      const flags = (at === 0 && endStream ? Flag.END_STREAM : 0) | (last ? Flag.END_HEADERS : 0);
      this.#write(frame(type, flags, stream.id, block.subarray(at, at + max)));
      if (last) break;
    }
    if (endStream) {
      stream.localEnded = true;
      this.#maybeClose(stream);
    }
  }

  /** @internal Sends what the windows allow of the stream's DATA, then its trailers. */
  flush(stream: H2Stream): void {
    const q = stream.queue;
    while (q.length > 0) {
      const piece = q[0]!;
      const room = Math.min(stream.sendWindow, this.#sendWindow, this.#peerMaxFrame);
      const left = piece.buf.length - piece.off;
      if (room <= 0 && left > 0) {
        this.#blocked.add(stream);
        return;
      }
      const n = Math.min(room, left);
      const head = Buffer.allocUnsafe(FRAME_HEADER);
      writeFrameHeader(head, 0, n, FrameType.DATA, 0, stream.id);
      this.#write(head);
      const last = n === left;
      const slice = piece.off === 0 && last ? piece.buf : piece.buf.subarray(piece.off, piece.off + n);
      const done = piece.done;
      this.#write(slice, last && done !== undefined ? (err) => void (err ? undefined : done()) : undefined);
      piece.off += n;
      stream.sendWindow -= n;
      this.#sendWindow -= n;
      if (last) q.shift();
    }
    this.#blocked.delete(stream);
    if (stream.trailers !== null && !stream.localEnded) this.sendHeaders(stream, stream.trailers, true);
  }

  /** @internal */
  resetStream(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    this.#write(u32Frame(FrameType.RST_STREAM, 0, stream.id, code));
    this.#close(stream);
  }

  #maybeClose(stream: H2Stream): void {
    if (!stream.localEnded) return;
    // Answered before the request ended: ask the client to stop sending (RFC 9113 8.1).
    if (!stream.remoteEnded) this.#write(u32Frame(FrameType.RST_STREAM, 0, stream.id, H2Error.NO_ERROR));
    this.#close(stream);
  }

  /** The stream's request is finished or abandoned: its bytes no longer count as unfinished. */
  #settle(stream: H2Stream): void {
    this.#unfinishedBytes -= stream.unfinishedBytes;
    stream.unfinishedBytes = 0;
  }

  #close(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#settle(stream);
    stream.queue.length = 0;
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    const cb = stream.onClose;
    stream.onClose = stream.onData = stream.onEnd = null;
    if (cb !== null) cb();
    if (this.#goingAway && this.#streams.size === 0 && !this.#dead) this.#socket.end();
  }

  #closeAll(): void {
    this.#dead = true;
    if (this.#prefaceTimer !== null) clearTimeout(this.#prefaceTimer);
    for (const s of [...this.#streams.values()]) this.#close(s);
  }

  #fail(err: ConnectionError): void {
    if (this.#dead) return;
    this.#write(goawayFrame(this.#lastStreamId, err.code, err.message));
    this.#dead = true;
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
    this.#closeAll();
  }

  // ---- reading ----

  #onBytes(chunk: Buffer): void {
    if (this.#dead) return;
    let buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    let at = 0;
    try {
      if (!this.#prefaceSeen) {
        if (buf.length < PREFACE.length) {
          if (!PREFACE.subarray(0, buf.length).equals(buf)) return this.destroy();
          this.#pending = buf;
          return;
        }
        if (!PREFACE.equals(buf.subarray(0, PREFACE.length))) return this.destroy();
        this.#prefaceSeen = true;
        at = PREFACE.length;
      }
      while (buf.length - at >= FRAME_HEADER && !this.#dead) {
        const length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
        // We never raise SETTINGS_MAX_FRAME_SIZE above its default.
        if (length > DEFAULT_MAX_FRAME) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${length} bytes is over 16384`);
        if (buf.length - at < FRAME_HEADER + length) break;
        const type = buf[at + 3]!;
        const flags = buf[at + 4]!;
        const id = buf.readUInt32BE(at + 5) & 0x7fffffff;
        const payload = buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length);
        at += FRAME_HEADER + length;
        this.#frame(type, flags, id, payload);
      }
    } catch (err) {
      if (err instanceof ConnectionError) return this.#fail(err);
      this.#opts.onError?.(err);
      return this.#fail(new ConnectionError(H2Error.INTERNAL_ERROR, 'internal error'));
    }
    this.#pending = at === buf.length ? null : buf.subarray(at);
  }

  #frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (!this.#settingsSeen) {
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'the connection must start with SETTINGS');
      this.#settingsSeen = true;
      if (this.#prefaceTimer !== null) clearTimeout(this.#prefaceTimer);
      this.#prefaceTimer = null;
    }
    if (this.#continuation !== null && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'a header block was interrupted by another frame');
    }
    switch (type) {
      case FrameType.DATA:
        return this.#onData(flags, id, payload);
      case FrameType.HEADERS:
        return this.#onHeaders(flags, id, payload);
      case FrameType.PRIORITY:
        if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) this.#streamError(id, H2Error.FRAME_SIZE_ERROR);
        return;
      case FrameType.RST_STREAM:
        return this.#onReset(id, payload);
      case FrameType.SETTINGS:
        return this.#onSettings(flags, id, payload);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'a client must not send PUSH_PROMISE');
      case FrameType.PING:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PING on a stream');
        if (payload.length !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'PING payload is not 8 bytes');
        if ((flags & Flag.ACK) === 0) this.#write(frame(FrameType.PING, Flag.ACK, 0, payload));
        return;
      case FrameType.GOAWAY:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream');
        this.#goingAway = true;
        if (this.#streams.size === 0) this.#socket.end();
        return;
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(id, payload);
      case FrameType.CONTINUATION:
        return this.#onContinuation(flags, id, payload);
      default:
        return; // unknown frame types are ignored (RFC 9113 4.1)
    }
  }

  #onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & Flag.ACK) !== 0) {
      if (payload.length !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS payload is not a multiple of 6 bytes');
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (key === Setting.ENABLE_PUSH && value > 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH is not 0 or 1');
      if (key === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1');
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const s of this.#streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'a stream window passed 2^31-1');
        }
      }
      if (key === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME || value > LARGEST_MAX_FRAME) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
        this.#peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE: our header blocks never use the dynamic table. Others: advisory.
    }
    this.#write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    for (const s of [...this.#streams.values()]) if (s.queue.length > 0) this.flush(s);
  }

  #onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE payload is not 4 bytes');
    const inc = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'the connection window passed 2^31-1');
      for (const s of [...this.#blocked]) this.flush(s);
      return;
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
      return;
    }
    if (inc === 0) return this.resetStream(stream, H2Error.PROTOCOL_ERROR);
    stream.sendWindow += inc;
    if (stream.sendWindow > MAX_WINDOW) return this.resetStream(stream, H2Error.FLOW_CONTROL_ERROR);
    this.flush(stream);
  }

  #onReset(id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM payload is not 4 bytes');
    if (id > this.#lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
    const stream = this.#streams.get(id);
    if (stream === undefined) return;
    const now = Date.now();
    if (now - this.#resetWindowStart > 1000) {
      this.#resetWindowStart = now;
      this.#resets = 0;
    }
    if (++this.#resets > RESETS_PER_SECOND) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'too many streams reset');
    this.#close(stream);
  }

  #onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let start = 0;
    let end = payload.length;
    if ((flags & Flag.PADDED) !== 0) {
      if (end < 1) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its padding');
      start = 1;
      end -= payload[0]!;
    }
    if ((flags & Flag.PRIORITY) !== 0) start += 5;
    if (end < start) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS padding is longer than the frame');
    const fragment = payload.subarray(start, end);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if ((flags & Flag.END_HEADERS) === 0) {
      this.#continuation = { id, endStream, parts: [fragment], size: fragment.length };
      return;
    }
    this.#headerBlock(id, endStream, fragment);
  }

  #onContinuation(flags: number, id: number, payload: Buffer): void {
    const c = this.#continuation;
    if (c === null || c.id !== id) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION without the HEADERS it continues');
    c.parts.push(payload);
    c.size += payload.length;
    if (c.size > MAX_HEADER_BLOCK) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `header block over ${MAX_HEADER_BLOCK} bytes`);
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.#continuation = null;
    this.#headerBlock(id, c.endStream, Buffer.concat(c.parts, c.size));
  }

  #headerBlock(id: number, endStream: boolean, block: Buffer): void {
    let decoded;
    try {
      // Decoded even for a stream we refuse: the dynamic table must follow every block.
      decoded = this.#decoder.decode(block);
    } catch (err) {
      if (err instanceof HpackError) throw new ConnectionError(H2Error.COMPRESSION_ERROR, err.message);
      throw err;
    }
    const open = this.#streams.get(id);
    if (open !== undefined) {
      // Trailers from the client: they must end the stream.
      if (open.remoteEnded || !endStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `unexpected HEADERS on stream ${id}`);
      this.#remoteEnd(open);
      return;
    }
    if (id <= this.#lastStreamId || id % 2 === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `HEADERS on stream ${id}, which the client cannot open`);
    this.#lastStreamId = id;
    if (this.#goingAway || this.#streams.size >= this.#opts.maxConcurrentStreams) {
      this.#write(u32Frame(FrameType.RST_STREAM, 0, id, H2Error.REFUSED_STREAM));
      return;
    }
    if (!decoded.tooLarge && (decoded.badName !== null || malformed(decoded.headers))) {
      // A malformed request is a stream error (RFC 9113 8.1.1): the connection goes on.
      this.#write(u32Frame(FrameType.RST_STREAM, 0, id, H2Error.PROTOCOL_ERROR));
      return;
    }
    const stream = new H2Stream(this, id, decoded.headers, this.#peerInitialWindow);
    this.#streams.set(id, stream);
    if (decoded.tooLarge) {
      // 431 Request Header Fields Too Large; gRPC clients report the HTTP status.
      stream.respond(STATUS_431, true);
      return;
    }
    this.#opts.onStream(stream);
    if (endStream) this.#remoteEnd(stream);
  }

  #remoteEnd(stream: H2Stream): void {
    if (stream.closed) return;
    stream.remoteEnded = true;
    this.#settle(stream);
    stream.onEnd?.();
    if (!stream.closed && stream.localEnded) this.#close(stream);
  }

  #onData(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    const length = payload.length;
    this.#recvWindow -= length;
    if (this.#recvWindow < 0) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.#recvConsumed += length;
    if (this.#recvConsumed >= CONNECTION_WINDOW / 2) {
      this.#write(u32Frame(FrameType.WINDOW_UPDATE, 0, 0, this.#recvConsumed));
      this.#recvWindow += this.#recvConsumed;
      this.#recvConsumed = 0;
    }
    let data = payload;
    if ((flags & Flag.PADDED) !== 0) {
      if (length < 1 || payload[0]! >= length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA padding is longer than the frame');
      data = payload.subarray(1, length - payload[0]!);
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      return; // a stream we answered or reset: its late DATA is dropped (the window was counted)
    }
    if (stream.remoteEnded) return this.#streamError(id, H2Error.STREAM_CLOSED);
    stream.recvWindow -= length;
    if (stream.recvWindow < 0) return this.#streamError(id, H2Error.FLOW_CONTROL_ERROR);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    stream.recvConsumed += length;
    if (!endStream && stream.recvConsumed >= STREAM_WINDOW / 2) {
      this.#write(u32Frame(FrameType.WINDOW_UPDATE, 0, id, stream.recvConsumed));
      stream.recvWindow += stream.recvConsumed;
      stream.recvConsumed = 0;
    }
    if (data.length > 0) {
      // Bodies that never finish must not pile up: the handler keeps what it is given.
      stream.unfinishedBytes += data.length;
      this.#unfinishedBytes += data.length;
      if (this.#unfinishedBytes > this.#maxUnfinished) {
        throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `unfinished request bodies over ${this.#maxUnfinished} bytes`);
      }
      stream.onData?.(data);
    }
    if (endStream) this.#remoteEnd(stream);
  }

  #streamError(id: number, code: number): void {
    const stream = this.#streams.get(id);
    if (stream !== undefined) this.resetStream(stream, code);
    else this.#write(u32Frame(FrameType.RST_STREAM, 0, id, code));
  }
}

/**
 * Whether a request's header list breaks RFC 9113 8.3.1 / 8.2.2: each of :method, :scheme and
 * :path exactly once (we serve no CONNECT), pseudo-headers before the others and none unknown, no
 * connection-specific fields, `te` only as "trailers".
 */
function malformed(headers: readonly [string, string][]): boolean {
  let method = 0;
  let scheme = 0;
  let path = 0;
  let authority = 0;
  let regular = false;
  for (const [name, value] of headers) {
    if (name.charCodeAt(0) === 58 /* ':' */) {
      if (regular) return true;
      if (name === ':method') method++;
      else if (name === ':scheme') scheme++;
      else if (name === ':path') path += value === '' ? 2 : 1; // never empty for http(s)
      else if (name === ':authority') authority++;
      else return true;
      continue;
    }
    regular = true;
    if (name === 'te' ? value !== 'trailers' : CONNECTION_SPECIFIC.has(name)) return true;
  }
  return method !== 1 || scheme !== 1 || path !== 1 || authority > 1;
}

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

const STATUS_431 = encodeHeaderBlock([[':status', '431']]);

function uncork(conn: H2Connection): void {
  conn.uncork();
}
