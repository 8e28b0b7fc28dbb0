/**
 * HPACK (RFC 7541): the request-header decoder a server needs, and the small encoder for the
 * response header blocks, which are built once at startup.
 *
 * Clients index their repeated headers (`:path`, `content-type`, `te`, `user-agent`...) in the
 * dynamic table, so after a connection's first call a request's header block is mostly one-byte
 * indexed fields; the decoder keeps the table's names and values as strings so a hit costs no
 * decoding at all.
 */
import { HuffmanError, huffmanDecode } from './huffman.js';

export class HpackError extends Error {}

/** RFC 7541 Appendix A. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** An entry's size in the dynamic table: its octets plus 32 (RFC 7541 4.1). */
const ENTRY_OVERHEAD = 32;
/** Decoded Huffman strings a connection keeps (emptied when full, so a client cannot grow it). */
const HUFFMAN_SEEN_MAX = 64;
const HUFFMAN_SEEN_LENGTH = 256;
/** Integers past this are refused (no legitimate length or index comes close). */
const MAX_INTEGER = 1 << 28;

export interface HeaderBlock {
  readonly headers: [string, string][];
  /** The list passed SETTINGS_MAX_HEADER_LIST_SIZE: the fields past it were decoded (the table must follow them) but dropped. */
  readonly tooLarge: boolean;
  /** A field name sent as a literal that HTTP/2 forbids (uppercase, controls, separators; RFC 9113 8.2.1), or null. */
  readonly badName: string | null;
}

/** A field name's allowed characters in HTTP/2: lowercase token characters, ':' opening a pseudo-header. */
const FIELD_NAME = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;

export class HpackDecoder {
  /** Newest entry last. */
  readonly #table: [string, string][] = [];
  #tableBytes = 0;
  #tableLimit: number;
  readonly #maxTableSize: number;
  readonly #maxHeaderListSize: number;
  #at = 0;
  #src: Uint8Array = EMPTY;
  /** Huffman-coded strings already decoded on this connection, by their coded octets. */
  readonly #huffmanSeen = new Map<string, string>();
  #badName: string | null = null;

  /** maxTableSize: our SETTINGS_HEADER_TABLE_SIZE, the most the encoder may ask for. */
  constructor(maxTableSize: number, maxHeaderListSize: number) {
    this.#maxTableSize = maxTableSize;
    this.#tableLimit = maxTableSize;
    this.#maxHeaderListSize = maxHeaderListSize;
  }

  decode(block: Uint8Array): HeaderBlock {
    this.#src = block;
    this.#at = 0;
    const headers: [string, string][] = [];
    let listSize = 0;
    let tooLarge = false;
    this.#badName = null;
    let fieldSeen = false;
    const end = block.length;
    while (this.#at < end) {
      const byte = block[this.#at]!;
      let field: [string, string];
      if (byte & 0x80) {
        field = this.#entry(this.#integer(7));
      } else if (byte & 0x40) {
        field = this.#literal(6);
        this.#insert(field);
      } else if (byte & 0x20) {
        // A table size update may only open a block (RFC 7541 4.2).
        if (fieldSeen) throw new HpackError('a dynamic table size update after a header field');
        const size = this.#integer(5);
        if (size > this.#maxTableSize) throw new HpackError(`a dynamic table size of ${size} is over the ${this.#maxTableSize} allowed`);
        this.#tableLimit = size;
        this.#evict(0);
        continue;
      } else {
        field = this.#literal(4); // without indexing (0000) or never indexed (0001)
      }
      fieldSeen = true;
      listSize += field[0].length + field[1].length + ENTRY_OVERHEAD;
      if (listSize > this.#maxHeaderListSize) tooLarge = true;
      else headers.push(field);
    }
    this.#src = EMPTY;
    return { headers, tooLarge, badName: this.#badName };
  }

  /** Static entries 1-61, then the dynamic table newest first. */
  #entry(index: number): [string, string] {
    if (index === 0) throw new HpackError('header index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1] as [string, string];
    const entry = this.#table[this.#table.length - (index - STATIC_TABLE.length)];
    if (entry === undefined) throw new HpackError(`header index ${index} is past the table`);
    return entry;
  }

  #literal(prefix: number): [string, string] {
    const nameIndex = this.#integer(prefix);
    let name: string;
    if (nameIndex === 0) {
      // Names from the tables were checked when they were literals; only new ones are.
      name = this.#string();
      if (this.#badName === null && !FIELD_NAME.test(name)) this.#badName = name;
    } else {
      name = this.#entry(nameIndex)[0];
    }
    return [name, this.#string()];
  }

  #insert(field: [string, string]): void {
    const size = field[0].length + field[1].length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (RFC 7541 4.4).
    this.#evict(size);
    if (size <= this.#tableLimit) {
      this.#table.push(field);
      this.#tableBytes += size;
    }
  }

  /** Drops the oldest entries until `room` more bytes fit. */
  #evict(room: number): void {
    const table = this.#table;
    let drop = 0;
    while (this.#tableBytes + room > this.#tableLimit && drop < table.length) {
      const [n, v] = table[drop++]!;
      this.#tableBytes -= n.length + v.length + ENTRY_OVERHEAD;
    }
    if (drop > 0) table.splice(0, drop);
  }

  /** An integer with an N-bit prefix (RFC 7541 5.1). */
  #integer(prefix: number): number {
    const src = this.#src;
    const max = (1 << prefix) - 1;
    let value = src[this.#at++]! & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.#at >= src.length) throw new HpackError('an integer runs past the header block');
      const b = src[this.#at++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (value > MAX_INTEGER) throw new HpackError('an integer is out of range');
      if ((b & 0x80) === 0) return value;
      shift += 7;
    }
  }

  /** A string literal (RFC 7541 5.2), octets as latin1 so every byte survives. */
  #string(): string {
    const src = this.#src;
    if (this.#at >= src.length) throw new HpackError('a string runs past the header block');
    const huffman = (src[this.#at]! & 0x80) !== 0;
    const length = this.#integer(7);
    const start = this.#at;
    const end = start + length;
    if (end > src.length) throw new HpackError('a string runs past the header block');
    this.#at = end;
    if (!huffman) return latin1(src, start, end);
    if (length > HUFFMAN_SEEN_LENGTH) return this.#huffman(start, end);
    // Some values come as the same Huffman literal call after call (nghttp2 never indexes
    // `:path`): short ones are decoded once per connection.
    const key = latin1(src, start, end);
    const known = this.#huffmanSeen.get(key);
    if (known !== undefined) return known;
    const value = this.#huffman(start, end);
    if (this.#huffmanSeen.size >= HUFFMAN_SEEN_MAX) this.#huffmanSeen.clear();
    this.#huffmanSeen.set(key, value);
    return value;
  }

  #huffman(start: number, end: number): string {
    try {
      return huffmanDecode(this.#src, start, end).toString('latin1');
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    }
  }
}

const EMPTY = new Uint8Array(0);

function latin1(src: Uint8Array, start: number, end: number): string {
  return Buffer.from(src.buffer, src.byteOffset + start, end - start).toString('latin1');
}

/**
 * A header block of literal fields that never touch the decoder's dynamic table (so the block can
 * be built once and sent on any connection): `:status: 200` as its static index, other names by
 * static index where the table has them, values as plain octets.
 */
export function encodeHeaderBlock(fields: readonly (readonly [string, string])[]): Buffer {
  const parts: number[] = [];
  for (const [name, value] of fields) {
    const full = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (full >= 0) {
      pushInteger(parts, 0x80, 7, full + 1);
      continue;
    }
    const nameIndex = STATIC_TABLE.findIndex(([n]) => n === name);
    pushInteger(parts, 0x00, 4, nameIndex + 1);
    if (nameIndex < 0) pushString(parts, name);
    pushString(parts, value);
  }
  return Buffer.from(parts);
}

function pushInteger(out: number[], flags: number, prefix: number, value: number): void {
  const max = (1 << prefix) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

function pushString(out: number[], s: string): void {
  const bytes = Buffer.from(s, 'latin1');
  pushInteger(out, 0x00, 7, bytes.length);
  out.push(...bytes);
}
