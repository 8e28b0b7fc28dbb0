/**
 * Feast Python's response JSON (feature_server_utils.py `convert_response_to_dict`, served by
 * Starlette's compact JSONResponse): columnar `results` with values, statuses and
 * event_timestamps, then `metadata.feature_names`.
 *
 * Written as bytes into one reused buffer: no string per value, no rope of thousands of pieces
 * to flatten and re-encode as UTF-8 at send time (the string version spent ~40% of a 1x50
 * request's server CPU in concatenation, flattening and encoding). Integer Values, the usual
 * feature type, are printed straight from their varint; every other Value goes through
 * `valueToJson`, the one definition of Feast's text for a Value.
 */
import type { EntityScalar } from '../../encoding/entity-key.js';
import { formatRfc3339 } from '../../encoding/timestamp.js';
import { valueToJson } from '../../encoding/value-json.js';
import { sameStatusesAndTimestamps } from '../../serving/cells.js';
import { FIELD_STATUS_NAMES, type OnlineFeaturesResult } from '../../serving/types.js';

const ascii = (s: string) => Buffer.from(s, 'latin1');
const EPOCH = ascii('"1970-01-01T00:00:00Z"');
const STATUS_JSON = FIELD_STATUS_NAMES.map((s) => ascii(`"${s}"`));
const NULL = ascii('null');

/**
 * Formatted timestamps, direct-mapped by seconds. A feature row's timestamp repeats on every
 * request for that entity (and materialization stamps many rows alike), so most lookups hit;
 * formatting one costs ~100 ns.
 */
const TS_SLOTS = 32768;
const tsKeyS = new Float64Array(TS_SLOTS).fill(-1);
const tsKeyN = new Uint32Array(TS_SLOTS);
const tsText: Buffer[] = new Array<Buffer>(TS_SLOTS).fill(EPOCH);

function timestampJson(s: number, ns: number): Buffer {
  const slot = (s + ns) % TS_SLOTS;
  if (tsKeyS[slot] === s && tsKeyN[slot] === ns) return tsText[slot]!;
  const text = ascii(`"${formatRfc3339(s, ns)}"`);
  tsKeyS[slot] = s;
  tsKeyN[slot] = ns;
  tsText[slot] = text;
  return text;
}

/** `metadata.feature_names` as JSON, per names array (a plan's, so it is built once per plan). */
const namesJson = new WeakMap<readonly string[], Buffer>();

function featureNamesJson(names: readonly string[]): Buffer {
  let b = namesJson.get(names);
  if (b === undefined) {
    b = Buffer.from(names.map((f) => JSON.stringify(f)).join(','), 'utf8');
    namesJson.set(names, b);
  }
  return b;
}

/** A growing output buffer, reused across responses (each is sent before the next is rendered). */
const INITIAL_BYTES = 64 * 1024;
/** Largest buffer kept between responses (a 100x250 response is ~1 MiB). */
const KEEP_BYTES = 8 * 1024 * 1024;

class JsonOut {
  buf = Buffer.allocUnsafe(INITIAL_BYTES);
  pos = 0;

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Short byte strings (ASCII bytes and preformatted pieces); the caller reserved room. */
  bytes(b: Uint8Array): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  text(s: string): void {
    this.reserve(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Decimal digits of a non-negative integer below 2^53; the caller reserved 16 bytes. */
  digits(v: number): void {
    const buf = this.buf;
    if (v < 10) {
      buf[this.pos++] = 48 + v;
      return;
    }
    if (v < 0x80000000) {
      // 31-bit values (most features): int32 arithmetic.
      let len = 2;
      for (let t = (v / 100) | 0; t > 0; t = (t / 10) | 0) len++;
      let p = this.pos + len;
      this.pos = p;
      while (v >= 10) {
        const q = (v / 10) | 0;
        buf[--p] = 48 + v - q * 10;
        v = q;
      }
      buf[--p] = 48 + v;
      return;
    }
    let len = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) len++;
    let p = this.pos + len;
    this.pos = p;
    while (v >= 10) {
      const q = Math.floor(v / 10);
      buf[--p] = 48 + (v - q * 10);
      v = q;
    }
    buf[--p] = 48 + v;
  }
}

const out = new JsonOut();

/**
 * A Value's JSON. Fast path: a Value holding only int32_val (field 3) or int64_val (field 4) whose
 * varint has at most 7 bytes (0..2^49, so the number is exact; negative numbers are 10-byte
 * varints and take the general path): exactly the digits `valueToJson` prints.
 */
/** Bytes a fast-path value takes at most, with its comma. */
const INT_ROOM = 17;

/** Writes the Value's JSON; true when it took the integer fast path (at most INT_ROOM bytes). */
function writeValue(o: JsonOut, data: Buffer, s: number, e: number): boolean {
  const tag = data[s];
  if ((tag === 0x20 || tag === 0x18) && e - s <= 8) {
    let v = 0;
    let mul = 1;
    let i = s + 1;
    for (; i < e; i++) {
      const b = data[i]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    // int32_val keeps the low 32 bits signed (as protobuf parses it): only below 2^31 is it the varint.
    if (i === e - 1 && (tag === 0x20 || v < 0x80000000)) {
      o.digits(v);
      return true;
    }
  }
  o.text(valueToJson(data, s, e));
  return false;
}

function writeEntity(o: JsonOut, v: EntityScalar): void {
  switch (v.type) {
    case 2:
      o.text(JSON.stringify(v.value));
      return;
    case 1:
      o.text(`"${Buffer.from(v.value).toString('base64')}"`);
      return;
    default:
      o.text(String(v.value));
  }
}

const OPEN_RESULTS = ascii('{"results":[');
const OPEN_COLUMN = ascii('{"values":[');
const NEXT_COLUMN = ascii(',{"values":[');
const STATUSES = ascii('],"statuses":[');
const TIMESTAMPS = ascii('],"event_timestamps":[');
const CLOSE_COLUMN = ascii(']}');
const METADATA = ascii('],"metadata":{"feature_names":[');
const END = ascii(']}}');
/** Room for any fixed piece plus a comma, and for an integer's digits. */
const PIECE = 64;

/**
 * Renders the response into a buffer that is only valid until the next call: send it (uWS copies
 * it) before rendering another response.
 */
export function renderOnlineFeaturesJson(result: OnlineFeaturesResult): Buffer {
  const o = out;
  // One huge response must not pin its buffer for the life of the process.
  if (o.buf.length > KEEP_BYTES) o.buf = Buffer.allocUnsafe(INITIAL_BYTES);
  o.pos = 0;
  const n = result.rowCount;
  o.reserve(PIECE);
  o.bytes(OPEN_RESULTS);
  let first = true;
  for (const col of result.entityColumns) {
    o.reserve(PIECE);
    o.bytes(first ? OPEN_COLUMN : NEXT_COLUMN);
    first = false;
    for (let r = 0; r < n; r++) {
      o.reserve(PIECE);
      if (r) o.byte(44);
      writeEntity(o, col.values[r]!);
    }
    o.reserve(PIECE + n * (STATUS_JSON[1]!.length + EPOCH.length + 2));
    o.bytes(STATUSES);
    for (let r = 0; r < n; r++) {
      if (r) o.byte(44);
      o.bytes(STATUS_JSON[1]!);
    }
    o.bytes(TIMESTAMPS);
    for (let r = 0; r < n; r++) {
      if (r) o.byte(44);
      o.bytes(EPOCH);
    }
    o.bytes(CLOSE_COLUMN);
  }
  const { data, valueStart, valueLength, statuses, tsSeconds, tsNanos } = result.cells;
  // The previous feature column's statuses-to-end bytes, and its first cell index.
  let prevStart = 0;
  let prevEnd = 0;
  let prevAt = -1;
  for (let f = 0, at = 0; f < result.features.length; f++, at += n) {
    o.reserve(PIECE);
    o.bytes(first ? OPEN_COLUMN : NEXT_COLUMN);
    first = false;
    // Room for every row on the fast path (null and integers); a row that needed more makes
    // room again for the rows after it.
    o.reserve(PIECE + n * INT_ROOM);
    for (let r = 0; r < n; r++) {
      if (r) o.byte(44);
      const len = valueLength[at + r]!;
      if (len < 0) o.bytes(NULL);
      else if (!writeValue(o, data, valueStart[at + r]!, valueStart[at + r]! + len)) o.reserve(PIECE + (n - r) * INT_ROOM);
    }
    // Features of one view usually share every row's status and timestamp: then this column's
    // statuses and event_timestamps are the previous column's bytes, copied in one move.
    if (prevAt >= 0 && sameStatusesAndTimestamps(result.cells, prevAt, at, n)) {
      const len = prevEnd - prevStart;
      o.reserve(len);
      o.buf.copyWithin(o.pos, prevStart, prevEnd);
      o.pos += len;
      prevStart = o.pos - len;
      prevEnd = o.pos;
      prevAt = at;
      continue;
    }
    // Statuses (at most 17 bytes) and timestamps (at most 33 bytes) with their commas.
    o.reserve(PIECE + n * 52);
    prevStart = o.pos;
    prevAt = at;
    o.bytes(STATUSES);
    for (let r = 0; r < n; r++) {
      if (r) o.byte(44);
      o.bytes(STATUS_JSON[statuses[at + r]!]!);
    }
    o.bytes(TIMESTAMPS);
    for (let r = 0; r < n; r++) {
      if (r) o.byte(44);
      o.bytes(timestampJson(tsSeconds[at + r]!, tsNanos[at + r]!));
    }
    o.bytes(CLOSE_COLUMN);
    prevEnd = o.pos;
  }
  const names = featureNamesJson(result.featureNames);
  o.reserve(PIECE + names.length);
  o.bytes(METADATA);
  o.buf.set(names, o.pos);
  o.pos += names.length;
  o.bytes(END);
  return o.buf.subarray(0, o.pos);
}
