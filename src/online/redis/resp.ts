/**
 * RESP2 at the byte level, for the read fast lane (lane.ts): commands are built once per plan as
 * bytes, and replies are parsed into element offsets into the reply bytes, never a Buffer or
 * string per element. Feast's read is `HMGET key field...` per entity key (redis.py
 * `_get_features_for_entity` / `online_read`); its reply is an array of bulk strings or nils.
 *
 * Why not the client library's parser: it makes one Buffer per bulk string and one promise and
 * command object per command (bench/results: ~14 us of client CPU per command, ~2.8 ms per
 * 100-key x 55-field read); this parser records two integers per element.
 */

import { scratch } from '../buffer-pool.js';

const CRLF = Buffer.from('\r\n', 'latin1');

/** `$<len>\r\n<bytes>\r\n` for each argument, concatenated. */
export function encodeArgs(args: readonly (Buffer | string)[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`, 'latin1'), b, CRLF);
  }
  return Buffer.concat(parts);
}

/** One whole command: `*<argc>\r\n` then every argument. */
export function encodeCommand(args: readonly (Buffer | string)[]): Buffer {
  return Buffer.concat([Buffer.from(`*${args.length}\r\n`, 'latin1'), encodeArgs(args)]);
}

/**
 * A command of the form `NAME key tail...` whose bytes are fixed but for the key: the header and
 * the tail are encoded once, and `write` copies them around each key.
 */
export class KeyedCommand {
  readonly #head: Buffer;
  readonly #tail: Buffer;

  constructor(name: string, tailArgs: readonly (Buffer | string)[]) {
    this.#head = Buffer.from(`*${2 + tailArgs.length}\r\n$${Buffer.byteLength(name)}\r\n${name}\r\n`, 'latin1');
    this.#tail = encodeArgs(tailArgs);
  }

  /** Bytes `write` needs for a key of `keyLength` bytes. */
  size(keyLength: number): number {
    return this.#head.length + 1 + decimalLength(keyLength) + 2 + keyLength + 2 + this.#tail.length;
  }

  /** Writes the command for `key` at `pos`; returns the position after it. */
  write(out: Buffer, pos: number, key: Uint8Array): number {
    pos += this.#head.copy(out, pos);
    out[pos++] = 36; // $
    pos += out.write(String(key.length), pos, 'latin1');
    out[pos++] = 13;
    out[pos++] = 10;
    out.set(key, pos);
    pos += key.length;
    out[pos++] = 13;
    out[pos++] = 10;
    return pos + this.#tail.copy(out, pos);
  }
}

function decimalLength(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** The replies to one batch of commands. */
export interface RespReplies {
  /** Every reply byte of the batch, contiguous. */
  readonly data: Buffer;
  /**
   * Elements, in order: an array reply contributes its elements, a bulk reply itself, a simple
   * string, integer or error reply contributes nothing at top level (one nil element inside an
   * array). `start[i]` is the element's offset in `data`; `length[i]` is -1 for nil.
   */
  readonly start: Int32Array;
  readonly length: Int32Array;
  /** Elements recorded. */
  readonly count: number;
  /** Per top-level reply: its element count (array length, 1 for a bulk, 0 otherwise, -1 nil array). */
  readonly replyElements: Int32Array;
  /** The pooled memory behind the offset arrays (buffer-pool.ts): given back when they are no longer read. */
  readonly memory: ArrayBuffer;
  /** The pooled memory behind `data` when the parser copied it (copyChunks): given back after the cells are used. */
  readonly dataMemory?: ArrayBuffer | undefined;
}

/** A Redis error reply (`-ERR ...`). The batch's other replies were read, so the stream is intact. */
export class RespReplyError extends Error {
  override readonly name = 'RespReplyError';
}

/** A byte the parser cannot place: the connection must be dropped (its stream is out of step). */
export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
}

/** The parser's view of one batch of commands in flight. */
export class PendingReplies {
  /** Top-level replies expected. */
  readonly replies: number;
  /** Replies complete so far. */
  done = 0;
  start: Int32Array;
  length: Int32Array;
  count = 0;
  readonly replyElements: Int32Array;
  /** Pooled (`scratch`): `start`, `length` (until they grow) and `replyElements` live in it. */
  readonly memory: ArrayBuffer;
  /** Stream offset of this batch's first reply byte; -1 until it arrives. */
  base = -1;
  /** Earlier chunks' parts of the replies (chunks kept as they are). */
  pieces: Buffer[] | null = null;
  /** The replies' bytes so far (copied chunks): `[0, copyEnd)` of this batch's own pooled buffer. */
  copyBuf: Buffer | null = null;
  copyEnd = 0;
  /** Elements expected (the caller's hint): sizes the first copy buffer. */
  readonly elementsHint: number;
  /** Where this batch starts in the current chunk. */
  pieceStart = 0;
  error: string | null = null;

  constructor(replies: number, elementsHint: number) {
    this.replies = replies;
    this.elementsHint = elementsHint;
    const cap = Math.max(4, elementsHint);
    // One allocation for the three arrays.
    const mem = scratch.take((2 * cap + replies) * 4);
    this.memory = mem;
    this.start = new Int32Array(mem, 0, cap);
    this.length = new Int32Array(mem, cap * 4, cap);
    this.replyElements = new Int32Array(mem, cap * 8, replies);
  }

  /** Room for `more` elements after the recorded ones. */
  reserve(more: number): void {
    if (this.count + more > this.start.length) this.#grow(this.count + more);
  }

  #grow(min: number): void {
    let cap = this.start.length * 2;
    while (cap < min) cap *= 2;
    const s = new Int32Array(cap);
    s.set(this.start.subarray(0, this.count));
    this.start = s;
    const l = new Int32Array(cap);
    l.set(this.length.subarray(0, this.count));
    this.length = l;
  }

  record(start: number, length: number): void {
    if (this.count === this.start.length) this.#grow(this.count + 1);
    this.start[this.count] = start;
    this.length[this.count++] = length;
  }
}

const enum State {
  /** Expecting a reply's type byte. */
  Type,
  /** Inside a header line (after the type byte, up to \n). */
  Header,
  /** Inside a bulk string's bytes (and its trailing \r\n). */
  Bulk,
}

/**
 * Streaming parser over a connection's reply bytes. Chunks may split anything anywhere; the
 * parser keeps just enough state (a header being read, bytes left of a bulk, elements left of an
 * array) to resume. Nested arrays are not part of the commands the lane sends and are refused.
 */
/**
 * A batch's first copy buffer: room for this many bytes per expected element (a bulk's header,
 * bytes and CRLF; Feast's values and field names are short), and at least 64 KiB so it comes from
 * the pool (buffer-pool.ts); it doubles when a reply is larger.
 */
const BYTES_PER_ELEMENT = 16;
const MIN_COPY_BYTES = 1 << 16;

export class RespReplyParser {
  /** Chunks are reused by their producer after `feed` returns: keep copies, never views. */
  readonly #copy: boolean;
  /**
   * Each batch copies into a pooled buffer of its own (PendingReplies.copyBuf), so a reply spread
   * over many chunks is copied once (not once per chunk and again to join them), and the reader
   * gives the buffer back once the request's cells are used (`RespReplies.dataMemory`): wide
   * reads copy ~7 KB per entity, which as fresh buffers kept V8 collecting for external memory.
   */
  #state = State.Type;
  #type = 0;
  #neg = false;
  #value = 0;
  #text = '';
  #bulkLeft = 0;
  #arrayLeft = 0;
  /** Stream offset of the current chunk's first byte. */
  #streamPos = 0;

  constructor(opts: { copyChunks?: boolean } = {}) {
    this.#copy = opts.copyChunks ?? false;
  }

  /**
   * Parses `chunk`. `current()` gives the batch the next reply belongs to; `complete(p, data)` is
   * called for each batch whose last reply was read.
   */
  feed(
    chunk: Buffer,
    current: () => PendingReplies | undefined,
    complete: (p: PendingReplies, data: Buffer) => void,
  ): void {
    const end = chunk.length;
    const streamPos = this.#streamPos;
    let i = 0;
    let p = current();
    if (p !== undefined && p.base >= 0) p.pieceStart = 0;
    while (i < end) {
      if (p === undefined) throw new RespProtocolError('Redis sent a reply nobody asked for');
      if (p.base < 0) {
        p.base = streamPos + i;
        p.pieceStart = i;
      }
      if (this.#state === State.Bulk) {
        const take = Math.min(this.#bulkLeft, end - i);
        i += take;
        this.#bulkLeft -= take;
        if (this.#bulkLeft > 0) break;
        this.#state = State.Type;
        if (this.#elementDone(p)) {
          complete(p, this.#dataOf(p, chunk, i));
          p = current();
        }
        continue;
      }
      if (this.#state === State.Type) {
        if (this.#arrayLeft > 0 && chunk[i] === 36) {
          // Inside an array: take every whole bulk element that is in this chunk in one tight
          // loop (the common case: HMGET/HGETALL replies are arrays of short bulk strings).
          // Anything cut by the chunk's end, or any other reply type, goes the general way.
          const left = this.#arrayLeft;
          p.reserve(left);
          const starts = p.start;
          const lengths = p.length;
          let count = p.count;
          let taken = 0;
          const rel = streamPos - p.base;
          while (taken < left && i < end && chunk[i] === 36) {
            let j = i + 1;
            let n = 0;
            let c = chunk[j];
            if (c === 45) {
              // $-1\r\n: nil
              if (j + 3 >= end) break;
              if (chunk[j + 1] !== 49 || chunk[j + 2] !== 13) break; // not "-1\r": the general path decides
              starts[count] = 0;
              lengths[count++] = -1;
              i = j + 4;
              taken++;
              continue;
            }
            while (j < end && (c = chunk[j]!) >= 48 && c <= 57) {
              n = n * 10 + (c - 48);
              j++;
            }
            if (j + 1 >= end || j === i + 1 || c !== 13 || chunk[j + 1] !== 10) break;
            const data = j + 2;
            if (data + n + 2 > end) break;
            starts[count] = rel + data;
            lengths[count++] = n;
            i = data + n + 2;
            taken++;
          }
          p.count = count;
          if (taken > 0) {
            this.#arrayLeft = left - taken;
            if (this.#arrayLeft === 0 && this.#replyDone(p)) {
              complete(p, this.#dataOf(p, chunk, i));
              p = current();
            }
            continue;
          }
        }
        this.#type = chunk[i++]!;
        this.#neg = false;
        this.#value = 0;
        this.#text = '';
        this.#state = State.Header;
        continue;
      }
      // Header line: digits (or text for + and -) up to \n; \r is skipped.
      const type = this.#type;
      if (type === 45 || type === 43) {
        for (; i < end; i++) {
          const c = chunk[i]!;
          if (c === 10) break;
          if (c !== 13 && type === 45) this.#text += String.fromCharCode(c);
        }
      } else {
        // Lengths and integers, in locals (this loop runs for every element of every reply).
        let value = this.#value;
        let neg = this.#neg;
        for (; i < end; i++) {
          const c = chunk[i]!;
          if (c >= 48 && c <= 57) value = value * 10 + (c - 48);
          else if (c === 10) break;
          else if (c === 13) continue;
          else if (c === 45) neg = true;
          else throw new RespProtocolError(`unexpected byte ${c} in a reply header`);
        }
        this.#value = value;
        this.#neg = neg;
      }
      if (i === end) break; // the line continues in the next chunk
      i++; // past \n
      this.#state = State.Type;
      let finished = false;
      switch (type) {
        case 36: // $ bulk string
          if (this.#neg) {
            p.record(0, -1);
            finished = this.#elementDone(p);
          } else {
            p.record(streamPos + i - p.base, this.#value);
            this.#bulkLeft = this.#value + 2;
            this.#state = State.Bulk;
          }
          break;
        case 42: // * array
          if (this.#arrayLeft > 0) throw new RespProtocolError('nested array reply');
          if (this.#neg || this.#value === 0) {
            p.replyElements[p.done] = this.#neg ? -1 : 0;
            finished = this.#replyDone(p);
          } else {
            this.#arrayLeft = this.#value;
            p.replyElements[p.done] = this.#value;
          }
          break;
        case 45: // - error
          if (p.error === null) p.error = this.#text;
          finished = this.#arrayLeft > 0 ? (p.record(0, -1), this.#elementDone(p)) : this.#replyDone(p);
          break;
        case 43: // + simple string
        case 58: // : integer
          finished = this.#arrayLeft > 0 ? (p.record(0, -1), this.#elementDone(p)) : this.#replyDone(p);
          break;
        default:
          throw new RespProtocolError(`unknown reply type byte ${type}`);
      }
      if (finished) {
        complete(p, this.#dataOf(p, chunk, i));
        p = current();
      }
    }
    // Keep this chunk's part of an unfinished batch.
    if (p !== undefined && p.base >= 0) {
      if (this.#copy) this.#append(p, chunk, p.pieceStart, end);
      else (p.pieces ??= []).push(chunk.subarray(p.pieceStart, end));
    }
    this.#streamPos = streamPos + end;
  }

  /** A top-level bulk or an array element ended; true when it finished the batch. */
  #elementDone(p: PendingReplies): boolean {
    if (this.#arrayLeft > 0) {
      if (--this.#arrayLeft > 0) return false;
    } else {
      p.replyElements[p.done] = 1;
    }
    return this.#replyDone(p);
  }

  #replyDone(p: PendingReplies): boolean {
    return ++p.done === p.replies;
  }

  #dataOf(p: PendingReplies, chunk: Buffer, endInChunk: number): Buffer {
    if (this.#copy) {
      this.#append(p, chunk, p.pieceStart, endInChunk);
      return p.copyBuf!.subarray(0, p.copyEnd);
    }
    const last = chunk.subarray(p.pieceStart, endInChunk);
    if (p.pieces === null) return last;
    p.pieces.push(last);
    return Buffer.concat(p.pieces);
  }

  /** Copies chunk[from, to) after the batch's bytes so far, keeping them contiguous in its own buffer. */
  #append(p: PendingReplies, chunk: Buffer, from: number, to: number): void {
    const n = to - from;
    const buf = p.copyBuf;
    if (buf === null || p.copyEnd + n > buf.length) {
      const want = Math.max(p.copyEnd + n, buf === null ? Math.max(MIN_COPY_BYTES, p.elementsHint * BYTES_PER_ELEMENT) : 2 * buf.length);
      const mem = scratch.take(want);
      const next = Buffer.from(mem, 0, mem.byteLength);
      if (buf !== null) {
        buf.copy(next, 0, 0, p.copyEnd);
        // Only this batch ever saw this buffer, and its bytes are now in `next`.
        scratch.give(buf.buffer as ArrayBuffer);
      }
      p.copyBuf = next;
    }
    chunk.copy(p.copyBuf!, p.copyEnd, from, to);
    p.copyEnd += n;
  }
}
