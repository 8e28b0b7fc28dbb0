/**
 * `feast.types.Value` bytes → the JSON text Feast's Python HTTP server writes for them, without
 * protobufjs and without an intermediate object graph (the read-path hot spot).
 *
 * The mapping is `_value_to_native` in sdk/python/feast/feature_server_utils.py, serialized by
 * Starlette's JSONResponse (`json.dumps(ensure_ascii=False, allow_nan=False,
 * separators=(",", ":"))`):
 *
 * - unset oneof (empty bytes, what Feast writes for None) and `null_val` → `null`;
 * - int32 / int64 / unix_timestamp (epoch seconds) → exact integers, int64 beyond 2^53 included;
 * - double → Python `repr(float)`; float (float32) → repr of the value widened to double
 *   (`0.7037263512611389`); NaN/±Infinity → `null` (Feast itself cannot encode them at all:
 *   Starlette's allow_nan=False raises and the request fails with 500);
 * - bool → true/false; bytes → base64 (standard alphabet, padded);
 * - string, json_val, uuid_val, time_uuid_val, decimal_val → JSON strings. json_val is NOT
 *   parsed: `_value_to_native` returns `getattr(v, "json_val")`, the raw text (Feast's unit test
 *   `test_json_val` expects `'{"foo": 1}'` back as a string);
 * - every *_list_val / *_set_val → array (bytes elements base64, set order as stored);
 * - list_val / set_val (RepeatedValue) → nested arrays of converted Values;
 * - map_val / struct_val → object; map_list_val / struct_list_val → array of objects;
 * - zoned_timestamp_val → `datetime.fromtimestamp(s, tz).isoformat()` in its stored zone
 *   (`2026-06-09T09:00:00-07:00`), `null` for the NaT sentinel INT64_MIN;
 * - scalar_map_val → `null` (Feast logs "not yet supported" and returns None).
 *
 * Strings are escaped like Python's json.dumps with ensure_ascii=False: `"` `\\` and C0 controls
 * only (\b \f \n \r \t short forms, others \u00XX lowercase); non-ASCII, `/`, DEL, U+2028/2029
 * stay raw. JSON.stringify escapes exactly that set for well-formed strings, and protobuf
 * strings are valid UTF-8 (validated here: Python's protobuf parser rejects invalid UTF-8).
 *
 * Anything malformed or unknown throws `PlatterError('INTERNAL')` naming the problem; the caller
 * adds the feature name.
 *
 * Implementation: a module-level cursor (`B`, `P`) over the buffer. The fast path converts the
 * canonical encoding (one oneof field, map entries key-then-value) straight to text; any other
 * valid encoding (repeated oneof fields, which protobuf merges, etc.) falls back to the generic
 * decoder `decodeValue` and prints from its result.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { PlatterError } from '../errors.js';
import { pyFloatRepr } from './py-float.js';
import { formatDateTimeSeconds } from './timestamp.js';

// ---------------------------------------------------------------------------------------------
// Decoded representation (tests and slow paths)

export type DecodedMapKey =
  | { kind: 'int32_key'; value: number }
  | { kind: 'int64_key' | 'unix_timestamp_key'; value: bigint }
  | { kind: 'float_key' | 'double_key'; value: number }
  | { kind: 'bool_key'; value: boolean }
  | { kind: 'bytes_key'; value: Buffer }
  | { kind: 'uuid_key' | 'time_uuid_key' | 'decimal_key'; value: string };

export type DecodedValue =
  | { kind: 'unset'; value: null }
  | { kind: 'null_val'; value: null }
  | { kind: 'bytes_val'; value: Buffer }
  | { kind: 'string_val' | 'json_val' | 'uuid_val' | 'time_uuid_val' | 'decimal_val'; value: string }
  | { kind: 'int32_val'; value: number }
  | { kind: 'int64_val' | 'unix_timestamp_val'; value: bigint }
  | { kind: 'double_val' | 'float_val'; value: number }
  | { kind: 'bool_val'; value: boolean }
  | { kind: 'bytes_list_val' | 'bytes_set_val'; value: Buffer[] }
  | {
      kind:
        | 'string_list_val'
        | 'string_set_val'
        | 'json_list_val'
        | 'uuid_list_val'
        | 'time_uuid_list_val'
        | 'uuid_set_val'
        | 'time_uuid_set_val'
        | 'decimal_list_val'
        | 'decimal_set_val';
      value: string[];
    }
  | { kind: 'int32_list_val' | 'int32_set_val'; value: number[] }
  | {
      kind: 'int64_list_val' | 'int64_set_val' | 'unix_timestamp_list_val' | 'unix_timestamp_set_val';
      value: bigint[];
    }
  | { kind: 'double_list_val' | 'double_set_val' | 'float_list_val' | 'float_set_val'; value: number[] }
  | { kind: 'bool_list_val' | 'bool_set_val'; value: boolean[] }
  | { kind: 'map_val' | 'struct_val'; value: Map<string, DecodedValue> }
  | { kind: 'map_list_val' | 'struct_list_val'; value: Map<string, DecodedValue>[] }
  | { kind: 'list_val' | 'set_val'; value: DecodedValue[] }
  | { kind: 'zoned_timestamp_val'; value: { unixTimestamp: bigint; zone: string } }
  | { kind: 'scalar_map_val'; value: { key: DecodedMapKey | null; value: DecodedValue }[] };

export type DecodedKind = DecodedValue['kind'];

// ---------------------------------------------------------------------------------------------
// Field table of `feast.types.Value` (protos/feast/types/Value.proto)

const enum Shape {
  VARINT = 0, // int32 / int64 / bool / enum
  FIXED64 = 1, // double
  LEN = 2, // string / bytes / message
  FIXED32 = 5, // float
}

/** Element kinds of the scalar list/set helper messages (`repeated <T> val = 1`). */
const enum Elem {
  BYTES,
  STRING,
  INT32,
  INT64,
  DOUBLE,
  FLOAT,
  BOOL,
}

const FIELD_NAME: (DecodedKind | undefined)[] = [];
const FIELD_SHAPE: (Shape | undefined)[] = [];
const LIST_ELEM: (Elem | undefined)[] = [];

function def(field: number, name: DecodedKind, shape: Shape, elem?: Elem): void {
  FIELD_NAME[field] = name;
  FIELD_SHAPE[field] = shape;
  if (elem !== undefined) LIST_ELEM[field] = elem;
}
def(1, 'bytes_val', Shape.LEN);
def(2, 'string_val', Shape.LEN);
def(3, 'int32_val', Shape.VARINT);
def(4, 'int64_val', Shape.VARINT);
def(5, 'double_val', Shape.FIXED64);
def(6, 'float_val', Shape.FIXED32);
def(7, 'bool_val', Shape.VARINT);
def(8, 'unix_timestamp_val', Shape.VARINT);
def(11, 'bytes_list_val', Shape.LEN, Elem.BYTES);
def(12, 'string_list_val', Shape.LEN, Elem.STRING);
def(13, 'int32_list_val', Shape.LEN, Elem.INT32);
def(14, 'int64_list_val', Shape.LEN, Elem.INT64);
def(15, 'double_list_val', Shape.LEN, Elem.DOUBLE);
def(16, 'float_list_val', Shape.LEN, Elem.FLOAT);
def(17, 'bool_list_val', Shape.LEN, Elem.BOOL);
def(18, 'unix_timestamp_list_val', Shape.LEN, Elem.INT64);
def(19, 'null_val', Shape.VARINT);
def(20, 'map_val', Shape.LEN);
def(21, 'map_list_val', Shape.LEN);
def(22, 'bytes_set_val', Shape.LEN, Elem.BYTES);
def(23, 'string_set_val', Shape.LEN, Elem.STRING);
def(24, 'int32_set_val', Shape.LEN, Elem.INT32);
def(25, 'int64_set_val', Shape.LEN, Elem.INT64);
def(26, 'double_set_val', Shape.LEN, Elem.DOUBLE);
def(27, 'float_set_val', Shape.LEN, Elem.FLOAT);
def(28, 'bool_set_val', Shape.LEN, Elem.BOOL);
def(29, 'unix_timestamp_set_val', Shape.LEN, Elem.INT64);
def(32, 'json_val', Shape.LEN);
def(33, 'json_list_val', Shape.LEN, Elem.STRING);
def(34, 'struct_val', Shape.LEN);
def(35, 'struct_list_val', Shape.LEN);
def(36, 'uuid_val', Shape.LEN);
def(37, 'time_uuid_val', Shape.LEN);
def(38, 'uuid_list_val', Shape.LEN, Elem.STRING);
def(39, 'time_uuid_list_val', Shape.LEN, Elem.STRING);
def(40, 'uuid_set_val', Shape.LEN, Elem.STRING);
def(41, 'time_uuid_set_val', Shape.LEN, Elem.STRING);
def(42, 'list_val', Shape.LEN);
def(43, 'set_val', Shape.LEN);
def(44, 'decimal_val', Shape.LEN);
def(45, 'decimal_list_val', Shape.LEN, Elem.STRING);
def(46, 'decimal_set_val', Shape.LEN, Elem.STRING);
def(47, 'scalar_map_val', Shape.LEN);
def(48, 'zoned_timestamp_val', Shape.LEN);

const ELEM_MESSAGE = ['BytesList', 'StringList', 'Int32List', 'Int64List', 'DoubleList', 'FloatList', 'BoolList'];

// ---------------------------------------------------------------------------------------------
// Cursor

const EMPTY = Buffer.alloc(0);
let B: Buffer = EMPTY;
let P = 0;
/** Low and high 32 bits (as uint32) of the last varint read by readVarint64. */
let VLO = 0;
let VHI = 0;

/** Thrown inside the fast path to switch to the generic decoder; never escapes this module. */
const SLOW: { readonly slow: true } = { slow: true };

function fail(what: string): never {
  throw new PlatterError('INTERNAL', `malformed feast.types.Value: ${what}`);
}

function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

function checkRange(buf: Uint8Array, start: number, end: number): void {
  if (!(start >= 0 && end <= buf.length && start <= end) || !Number.isInteger(start) || !Number.isInteger(end)) {
    throw new PlatterError('INTERNAL', `Value byte range [${start}, ${end}) is outside the ${buf.length}-byte buffer`);
  }
}

/** A varint that must fit 2^53 (tags, lengths). */
function readSmall(end: number): number {
  if (P >= end) fail('truncated varint');
  let b = B[P++]!;
  if (b < 0x80) return b;
  let v = b & 0x7f;
  let mul = 128;
  for (;;) {
    if (P >= end) fail('truncated varint');
    b = B[P++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 128;
    if (mul > 2 ** 49) fail('varint too long');
  }
}

/** Full 64-bit varint into VLO/VHI (protobuf varints are at most 10 bytes). */
function readVarint64(end: number): void {
  if (P >= end) fail('truncated varint');
  let b = B[P++]!;
  if (b < 0x80) {
    VLO = b;
    VHI = 0;
    return;
  }
  let lo = b & 0x7f;
  let hi = 0;
  let i = 1;
  for (;;) {
    if (P >= end) fail('truncated varint');
    b = B[P++]!;
    if (i < 4) lo |= (b & 0x7f) << (7 * i);
    else if (i === 4) {
      lo |= (b & 0x0f) << 28;
      hi = (b & 0x7f) >>> 4;
    } else if (i < 10) hi |= (b & 0x7f) << (7 * i - 32);
    else fail('varint longer than 10 bytes');
    if (b < 0x80) break;
    i++;
  }
  VLO = lo >>> 0;
  VHI = hi >>> 0;
}

function readLenEnd(end: number): number {
  const len = readSmall(end);
  const e = P + len;
  if (e > end) fail('length-delimited field runs past the end');
  return e;
}

function skipField(wt: number, end: number): void {
  switch (wt) {
    case 0:
      readVarint64(end);
      return;
    case 1:
      if (P + 8 > end) fail('truncated fixed64');
      P += 8;
      return;
    case 2:
      P = readLenEnd(end);
      return;
    case 5:
      if (P + 4 > end) fail('truncated fixed32');
      P += 4;
      return;
    default:
      fail(`unsupported wire type ${wt}`);
  }
}

// Float scratch (copy bytes in, read the typed value out).
const F64 = new Float64Array(1);
const F64B = new Uint8Array(F64.buffer);
const F32 = new Float32Array(1);
const F32B = new Uint8Array(F32.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function readDouble(end: number): number {
  if (P + 8 > end) fail('truncated double');
  if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) F64B[i] = B[P + i]!;
  else for (let i = 0; i < 8; i++) F64B[7 - i] = B[P + i]!;
  P += 8;
  return F64[0]!;
}

function readFloat(end: number): number {
  if (P + 4 > end) fail('truncated float');
  if (LITTLE_ENDIAN) {
    F32B[0] = B[P]!;
    F32B[1] = B[P + 1]!;
    F32B[2] = B[P + 2]!;
    F32B[3] = B[P + 3]!;
  } else for (let i = 0; i < 4; i++) F32B[3 - i] = B[P + i]!;
  P += 4;
  return F32[0]!;
}

// ---------------------------------------------------------------------------------------------
// Scalar text

/** Exact decimal text of the signed 64-bit integer hi:lo. */
function int64Text(lo: number, hi: number): string {
  const h = hi | 0;
  if (h >= -0x200000 && h < 0x200000) return String(h * 4294967296 + lo);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

function int64Big(lo: number, hi: number): bigint {
  const h = hi | 0;
  if (h >= -0x200000 && h < 0x200000) return BigInt(h * 4294967296 + lo);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

function hasHighBit(s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (B[i]! >= 0x80) return true;
  return false;
}

// Buffer#toString(enc, s, e) goes through argument checks and a wrapper that cost more than the
// copy for short strings; the per-encoding slice methods it ends in are on Buffer.prototype
// (undocumented but present in every Node release). Fall back to toString if they ever go.
type Slicer = (this: Buffer, start: number, end: number) => string;
const proto = Buffer.prototype as unknown as Record<string, Slicer | undefined>;
const latin1Slice: Slicer =
  proto['latin1Slice'] ?? function (this: Buffer, s: number, e: number) { return this.toString('latin1', s, e); };
const utf8Slice: Slicer =
  proto['utf8Slice'] ?? function (this: Buffer, s: number, e: number) { return this.toString('utf8', s, e); };
const base64Slice: Slicer =
  proto['base64Slice'] ?? function (this: Buffer, s: number, e: number) { return this.toString('base64', s, e); };

/** UTF-8 text of B[s, e), validated (protobuf strings must be valid UTF-8). */
function utf8At(s: number, e: number): string {
  if (!hasHighBit(s, e)) return s === e ? '' : latin1Slice.call(B, s, e);
  if (!isUtf8(B.subarray(s, e))) fail('string is not valid UTF-8');
  return utf8Slice.call(B, s, e);
}

/** JSON string literal of the UTF-8 string B[s, e). */
function stringJsonAt(s: number, e: number): string {
  if (e - s <= 12) {
    // short ASCII: building the string in JS beats a native slice call
    let r = '"';
    for (let i = s; i < e; i++) {
      const c = B[i]!;
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) return JSON.stringify(utf8At(s, e));
      r += String.fromCharCode(c);
    }
    return r + '"';
  }
  for (let i = s; i < e; i++) {
    const c = B[i]!;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) return JSON.stringify(utf8At(s, e));
  }
  return s === e ? '""' : '"' + latin1Slice.call(B, s, e) + '"';
}

function bytesJsonAt(s: number, e: number): string {
  return s === e ? '""' : '"' + base64Slice.call(B, s, e) + '"';
}

// ---------------------------------------------------------------------------------------------
// Zoned timestamps (feature_server_utils.py `_zoned_timestamp_to_str`, type_map.py `_zone_from_name`)

interface ZoneResolver {
  /** UTC offset in seconds at the instant (epoch seconds). */
  offsetAt(seconds: number): number;
}

const UTC_ZONE: ZoneResolver = { offsetAt: () => 0 };
const zoneCache = new Map<string, ZoneResolver>();
const FIXED_OFFSET = /^(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})$/;

function fixedZone(offset: number): ZoneResolver {
  return { offsetAt: () => offset };
}

function intlZone(zone: string): ZoneResolver | undefined {
  let dtf: Intl.DateTimeFormat;
  try {
    dtf = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return undefined;
  }
  // Python's ZoneInfo keys are file names, so case matters there; Intl ignores case.
  const resolved = dtf.resolvedOptions().timeZone;
  if (resolved !== zone && resolved.toLowerCase() === zone.toLowerCase()) return undefined;
  return {
    offsetAt(seconds: number): number {
      const parts = dtf.formatToParts(new Date(seconds * 1000));
      let y = 0;
      let mo = 0;
      let d = 0;
      let h = 0;
      let mi = 0;
      let s = 0;
      let bc = false;
      for (const p of parts) {
        switch (p.type) {
          case 'year':
            y = Number(p.value);
            break;
          case 'month':
            mo = Number(p.value);
            break;
          case 'day':
            d = Number(p.value);
            break;
          case 'hour':
            h = Number(p.value);
            break;
          case 'minute':
            mi = Number(p.value);
            break;
          case 'second':
            s = Number(p.value);
            break;
          case 'era':
            bc = p.value === 'BC' || p.value === 'B';
            break;
        }
      }
      const wall = new Date(0);
      wall.setUTCFullYear(bc ? 1 - y : y, mo - 1, d);
      wall.setUTCHours(h, mi, s, 0);
      return Math.round(wall.getTime() / 1000) - seconds;
    },
  };
}

function resolveZone(zone: string): ZoneResolver {
  let z = zoneCache.get(zone);
  if (z !== undefined) return z;
  if (zone === '') z = UTC_ZONE;
  else {
    // Python tries ZoneInfo(zone) first, then a fixed offset, then falls back to UTC. No IANA
    // key looks like an offset (only "UTC"/"GMT" overlap, and they mean UTC either way), so
    // testing the offset form first gives the same answer.
    const text = zone.trim();
    const m = FIXED_OFFSET.exec(text);
    if (text === 'UTC' || text === 'GMT') z = UTC_ZONE;
    else if (m !== null) {
      const off = (Number(m[2]) * 3600 + Number(m[3]) * 60) * (m[1] === '-' ? -1 : 1);
      z = fixedZone(off);
    } else z = intlZone(zone) ?? UTC_ZONE;
  }
  if (zoneCache.size < 1000) zoneCache.set(zone, z);
  return z;
}

const MIN_SECONDS = -62135596800; // 0001-01-01T00:00:00Z
const MAX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z

function offsetText(off: number): string {
  const sign = off < 0 ? '-' : '+';
  let a = off < 0 ? -off : off;
  const hh = Math.floor(a / 3600);
  a -= hh * 3600;
  const mm = Math.floor(a / 60);
  const ss = a - mm * 60;
  const two = (n: number) => (n < 10 ? '0' + n : String(n));
  return sign + two(hh) + ':' + two(mm) + (ss !== 0 ? ':' + two(ss) : '');
}

/** Python `datetime.fromtimestamp(seconds, tz=zone).isoformat()`, or null for the NaT sentinel. */
export function zonedTimestampText(unixTimestamp: bigint, zone: string): string | null {
  if (unixTimestamp === -(2n ** 63n)) return null;
  if (unixTimestamp < BigInt(MIN_SECONDS) || unixTimestamp > BigInt(MAX_SECONDS)) {
    fail(`zoned_timestamp_val ${unixTimestamp} is outside years 0001..9999`);
  }
  const seconds = Number(unixTimestamp);
  const off = resolveZone(zone).offsetAt(seconds);
  const local = seconds + off;
  if (local < MIN_SECONDS || local > MAX_SECONDS) fail(`zoned_timestamp_val ${unixTimestamp} is outside years 0001..9999`);
  return formatDateTimeSeconds(local) + offsetText(off);
}

// ---------------------------------------------------------------------------------------------
// Fast path: bytes → JSON text

/** JSON of the Value B[s, e); leaves P === e. Throws SLOW for non-canonical encodings. */
function valueJsonAt(s: number, e: number): string {
  if (s === e) return 'null';
  P = s;
  const tag = readSmall(e);
  const field = Math.floor(tag / 8);
  const wt = tag & 7;
  if (FIELD_SHAPE[field] !== wt) {
    if (FIELD_SHAPE[field] === undefined) fail(`unknown Value field ${field} (wire type ${wt})`);
    fail(`Value field ${field} (${FIELD_NAME[field]}) has wire type ${wt}`);
  }
  let out: string;
  switch (field) {
    case 1: {
      const fe = readLenEnd(e);
      out = bytesJsonAt(P, fe);
      P = fe;
      break;
    }
    case 2:
    case 32:
    case 36:
    case 37:
    case 44: {
      const fe = readLenEnd(e);
      out = stringJsonAt(P, fe);
      P = fe;
      break;
    }
    case 3:
      readVarint64(e);
      out = String(VLO | 0);
      break;
    case 4:
    case 8:
      readVarint64(e);
      out = VHI === 0 ? String(VLO) : int64Text(VLO, VHI);
      break;
    case 5:
      out = pyFloatRepr(readDouble(e));
      break;
    case 6:
      out = pyFloatRepr(readFloat(e));
      break;
    case 7:
      readVarint64(e);
      out = VLO !== 0 || VHI !== 0 ? 'true' : 'false';
      break;
    case 19:
      readVarint64(e);
      out = 'null';
      break;
    case 20:
    case 34:
      out = mapJson(readLenEnd(e));
      break;
    case 21:
    case 35:
      out = mapListJson(readLenEnd(e));
      break;
    case 42:
    case 43:
      out = repeatedJson(readLenEnd(e));
      break;
    case 47:
      // scalar_map_val: Feast returns None for it (feature_server_utils.py). Still check framing.
      P = readLenEnd(e);
      out = 'null';
      break;
    case 48:
      out = zonedJson(readLenEnd(e));
      break;
    default:
      out = scalarListJson(LIST_ELEM[field]!, readLenEnd(e));
  }
  if (P !== e) throw SLOW; // more fields: protobuf merges / last one wins; let the generic path decide
  return out;
}

/** Elements of a `repeated <T> val = 1` message B[P, end), as a JSON array. */
function scalarListJson(elem: Elem, end: number): string {
  let out = '[';
  let first = true;
  while (P < end) {
    const tag = readSmall(end);
    if (tag === 0x0a) {
      // length-delimited: one bytes/string element, or a packed run of numbers
      const fe = readLenEnd(end);
      switch (elem) {
        case Elem.BYTES:
          out += (first ? '' : ',') + bytesJsonAt(P, fe);
          first = false;
          P = fe;
          break;
        case Elem.STRING:
          out += (first ? '' : ',') + stringJsonAt(P, fe);
          first = false;
          P = fe;
          break;
        case Elem.DOUBLE:
          if ((fe - P) % 8 !== 0) fail('packed double list length is not a multiple of 8');
          while (P < fe) {
            out += (first ? '' : ',') + pyFloatRepr(readDouble(fe));
            first = false;
          }
          break;
        case Elem.FLOAT:
          if ((fe - P) % 4 !== 0) fail('packed float list length is not a multiple of 4');
          while (P < fe) {
            out += (first ? '' : ',') + pyFloatRepr(readFloat(fe));
            first = false;
          }
          break;
        default:
          while (P < fe) {
            out += (first ? '' : ',') + varintElemText(elem, fe);
            first = false;
          }
      }
    } else if (tag === 0x08 && (elem === Elem.INT32 || elem === Elem.INT64 || elem === Elem.BOOL)) {
      out += (first ? '' : ',') + varintElemText(elem, end);
      first = false;
    } else if (tag === 0x09 && elem === Elem.DOUBLE) {
      out += (first ? '' : ',') + pyFloatRepr(readDouble(end));
      first = false;
    } else if (tag === 0x0d && elem === Elem.FLOAT) {
      out += (first ? '' : ',') + pyFloatRepr(readFloat(end));
      first = false;
    } else {
      fail(`unexpected field ${Math.floor(tag / 8)} (wire type ${tag & 7}) in ${ELEM_MESSAGE[elem]}`);
    }
  }
  return out + ']';
}

function varintElemText(elem: Elem, end: number): string {
  readVarint64(end);
  if (elem === Elem.INT32) return String(VLO | 0);
  if (elem === Elem.BOOL) return VLO !== 0 || VHI !== 0 ? 'true' : 'false';
  return VHI === 0 ? String(VLO) : int64Text(VLO, VHI);
}

/** `Map { map<string, Value> val = 1 }` B[P, end) as a JSON object. */
function mapJson(end: number): string {
  let out = '{';
  let first = true;
  let seen: Set<string> | undefined;
  while (P < end) {
    const tag = readSmall(end);
    if (tag !== 0x0a) fail(`unexpected field ${Math.floor(tag / 8)} (wire type ${tag & 7}) in Map`);
    const ee = readLenEnd(end);
    // entry: string key = 1; Value value = 2 (canonical order key, value; each optional)
    let keyS = -1;
    let keyE = -1;
    let valJson = 'null';
    let haveVal = false;
    while (P < ee) {
      const t = readSmall(ee);
      if (t === 0x0a && keyS < 0 && !haveVal) {
        keyE = readLenEnd(ee);
        keyS = P;
        P = keyE;
      } else if (t === 0x12 && !haveVal) {
        const ve = readLenEnd(ee);
        valJson = valueJsonAt(P, ve);
        haveVal = true;
      } else if (t === 0x0a || t === 0x12) {
        throw SLOW; // repeated or out-of-order entry fields
      } else fail(`unexpected field ${Math.floor(t / 8)} (wire type ${t & 7}) in Map entry`);
    }
    const key = keyS < 0 ? '' : utf8At(keyS, keyE);
    seen ??= new Set();
    if (seen.has(key)) throw SLOW; // duplicate key: the later entry wins
    seen.add(key);
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + valJson;
    first = false;
  }
  return out + '}';
}

/** `MapList { repeated Map val = 1 }` as an array of objects. */
function mapListJson(end: number): string {
  let out = '[';
  let first = true;
  while (P < end) {
    const tag = readSmall(end);
    if (tag !== 0x0a) fail(`unexpected field ${Math.floor(tag / 8)} (wire type ${tag & 7}) in MapList`);
    const me = readLenEnd(end);
    out += (first ? '' : ',') + mapJson(me);
    first = false;
  }
  return out + ']';
}

/** `RepeatedValue { repeated Value val = 1 }` as an array. */
function repeatedJson(end: number): string {
  let out = '[';
  let first = true;
  while (P < end) {
    const tag = readSmall(end);
    if (tag !== 0x0a) fail(`unexpected field ${Math.floor(tag / 8)} (wire type ${tag & 7}) in RepeatedValue`);
    const ve = readLenEnd(end);
    out += (first ? '' : ',') + valueJsonAt(P, ve);
    first = false;
  }
  return out + ']';
}

function zonedJson(end: number): string {
  const z = readZoned([P, end]);
  P = end;
  const text = zonedTimestampText(z.unixTimestamp, z.zone);
  return text === null ? 'null' : JSON.stringify(text);
}

// ---------------------------------------------------------------------------------------------
// Generic decoder. A message given as several byte ranges is the merge of those ranges, which
// protobuf defines as parsing their concatenation; that is how repeated occurrences of a
// message-typed oneof field combine.

function decodeValueRanges(ranges: readonly number[]): DecodedValue {
  let field = 0;
  let sub: number[] = [];
  let scalarLo = 0;
  let scalarHi = 0;
  let scalarNum = 0;
  for (let r = 0; r < ranges.length; r += 2) {
    P = ranges[r]!;
    const end = ranges[r + 1]!;
    while (P < end) {
      const tag = readSmall(end);
      const f = Math.floor(tag / 8);
      const wt = tag & 7;
      const shape = FIELD_SHAPE[f];
      if (shape === undefined) fail(`unknown Value field ${f} (wire type ${wt})`);
      if (shape !== wt) fail(`Value field ${f} (${FIELD_NAME[f]}) has wire type ${wt}`);
      if (shape === Shape.VARINT) {
        readVarint64(end);
        scalarLo = VLO;
        scalarHi = VHI;
        field = f;
        sub = [];
      } else if (shape === Shape.FIXED64) {
        scalarNum = readDouble(end);
        field = f;
        sub = [];
      } else if (shape === Shape.FIXED32) {
        scalarNum = readFloat(end);
        field = f;
        sub = [];
      } else {
        const fe = readLenEnd(end);
        const isMessage = LIST_ELEM[f] !== undefined || f === 20 || f === 21 || f === 34 || f === 35 || (f >= 42 && f !== 44);
        if (field !== f || !isMessage) sub = [];
        sub.push(P, fe);
        field = f;
        P = fe;
      }
    }
  }
  switch (field) {
    case 0:
      return { kind: 'unset', value: null };
    case 1:
      return { kind: 'bytes_val', value: Buffer.from(B.subarray(sub[0]!, sub[1]!)) };
    case 2:
    case 32:
    case 36:
    case 37:
    case 44:
      return {
        kind: FIELD_NAME[field] as 'string_val',
        value: utf8At(sub[0]!, sub[1]!),
      };
    case 3:
      return { kind: 'int32_val', value: scalarLo | 0 };
    case 4:
    case 8:
      return { kind: FIELD_NAME[field] as 'int64_val', value: int64Big(scalarLo, scalarHi) };
    case 5:
      return { kind: 'double_val', value: scalarNum };
    case 6:
      return { kind: 'float_val', value: scalarNum };
    case 7:
      return { kind: 'bool_val', value: scalarLo !== 0 || scalarHi !== 0 };
    case 19:
      return { kind: 'null_val', value: null };
    case 20:
    case 34:
      return { kind: FIELD_NAME[field] as 'map_val', value: readMap(sub) };
    case 21:
    case 35:
      return { kind: FIELD_NAME[field] as 'map_list_val', value: readMapList(sub) };
    case 42:
    case 43:
      return { kind: FIELD_NAME[field] as 'list_val', value: readRepeated(sub) };
    case 47:
      return { kind: 'scalar_map_val', value: readScalarMap(sub) };
    case 48:
      return { kind: 'zoned_timestamp_val', value: readZoned(sub) };
    default:
      return { kind: FIELD_NAME[field], value: readScalarList(LIST_ELEM[field]!, sub) } as DecodedValue;
  }
}

function readScalarList(elem: Elem, ranges: readonly number[]): unknown[] {
  const out: unknown[] = [];
  const varint = (end: number): unknown => {
    readVarint64(end);
    if (elem === Elem.INT32) return VLO | 0;
    if (elem === Elem.BOOL) return VLO !== 0 || VHI !== 0;
    return int64Big(VLO, VHI);
  };
  for (let r = 0; r < ranges.length; r += 2) {
    P = ranges[r]!;
    const end = ranges[r + 1]!;
    while (P < end) {
      const tag = readSmall(end);
      if (tag === 0x0a) {
        const fe = readLenEnd(end);
        switch (elem) {
          case Elem.BYTES:
            out.push(Buffer.from(B.subarray(P, fe)));
            P = fe;
            break;
          case Elem.STRING:
            out.push(utf8At(P, fe));
            P = fe;
            break;
          case Elem.DOUBLE:
            if ((fe - P) % 8 !== 0) fail('packed double list length is not a multiple of 8');
            while (P < fe) out.push(readDouble(fe));
            break;
          case Elem.FLOAT:
            if ((fe - P) % 4 !== 0) fail('packed float list length is not a multiple of 4');
            while (P < fe) out.push(readFloat(fe));
            break;
          default:
            while (P < fe) out.push(varint(fe));
        }
      } else if (tag === 0x08 && (elem === Elem.INT32 || elem === Elem.INT64 || elem === Elem.BOOL)) {
        out.push(varint(end));
      } else if (tag === 0x09 && elem === Elem.DOUBLE) {
        out.push(readDouble(end));
      } else if (tag === 0x0d && elem === Elem.FLOAT) {
        out.push(readFloat(end));
      } else {
        fail(`unexpected field ${Math.floor(tag / 8)} (wire type ${tag & 7}) in ${ELEM_MESSAGE[elem]}`);
      }
    }
  }
  return out;
}

/** Ranges of every `repeated <message> val = 1` element of a message given as ranges. */
function elementRanges(ranges: readonly number[], what: string): number[] {
  const out: number[] = [];
  for (let r = 0; r < ranges.length; r += 2) {
    P = ranges[r]!;
    const end = ranges[r + 1]!;
    while (P < end) {
      const tag = readSmall(end);
      if (tag !== 0x0a) fail(`unexpected field ${Math.floor(tag / 8)} (wire type ${tag & 7}) in ${what}`);
      const fe = readLenEnd(end);
      out.push(P, fe);
      P = fe;
    }
  }
  return out;
}

function readRepeated(ranges: readonly number[]): DecodedValue[] {
  const els = elementRanges(ranges, 'RepeatedValue');
  const out: DecodedValue[] = [];
  for (let i = 0; i < els.length; i += 2) out.push(decodeValueRanges([els[i]!, els[i + 1]!]));
  return out;
}

function readMap(ranges: readonly number[]): Map<string, DecodedValue> {
  const entries = elementRanges(ranges, 'Map');
  const out = new Map<string, DecodedValue>();
  for (let i = 0; i < entries.length; i += 2) {
    P = entries[i]!;
    const end = entries[i + 1]!;
    let keyS = -1;
    let keyE = -1;
    const valueRanges: number[] = [];
    while (P < end) {
      const tag = readSmall(end);
      if (tag === 0x0a) {
        keyE = readLenEnd(end);
        keyS = P;
        P = keyE;
      } else if (tag === 0x12) {
        const ve = readLenEnd(end);
        valueRanges.push(P, ve);
        P = ve;
      } else fail(`unexpected field ${Math.floor(tag / 8)} (wire type ${tag & 7}) in Map entry`);
    }
    const key = keyS < 0 ? '' : utf8At(keyS, keyE);
    // a later entry for the same key replaces the earlier one; keep the first position like a dict
    out.set(key, decodeValueRanges(valueRanges));
  }
  return out;
}

function readMapList(ranges: readonly number[]): Map<string, DecodedValue>[] {
  const els = elementRanges(ranges, 'MapList');
  const out: Map<string, DecodedValue>[] = [];
  for (let i = 0; i < els.length; i += 2) out.push(readMap([els[i]!, els[i + 1]!]));
  return out;
}

function readZoned(ranges: readonly number[]): { unixTimestamp: bigint; zone: string } {
  let lo = 0;
  let hi = 0;
  let zone = '';
  for (let r = 0; r < ranges.length; r += 2) {
    P = ranges[r]!;
    const end = ranges[r + 1]!;
    while (P < end) {
      const tag = readSmall(end);
      if (tag === 0x08) {
        readVarint64(end);
        lo = VLO;
        hi = VHI;
      } else if (tag === 0x12) {
        const ze = readLenEnd(end);
        zone = utf8At(P, ze);
        P = ze;
      } else fail(`unexpected field ${Math.floor(tag / 8)} (wire type ${tag & 7}) in ZonedTimestamp`);
    }
  }
  return { unixTimestamp: int64Big(lo, hi), zone };
}

const MAP_KEY_NAME = [
  '',
  'int32_key',
  'int64_key',
  'float_key',
  'double_key',
  'bool_key',
  'unix_timestamp_key',
  'bytes_key',
  'uuid_key',
  'time_uuid_key',
  'decimal_key',
] as const;
const MAP_KEY_SHAPE = [-1, 0, 0, 5, 1, 0, 0, 2, 2, 2, 2];

function readMapKey(ranges: readonly number[]): DecodedMapKey | null {
  let key: DecodedMapKey | null = null;
  for (let r = 0; r < ranges.length; r += 2) {
    P = ranges[r]!;
    const end = ranges[r + 1]!;
    while (P < end) {
      const tag = readSmall(end);
      const f = Math.floor(tag / 8);
      const wt = tag & 7;
      if (f < 1 || f > 10 || MAP_KEY_SHAPE[f] !== wt) {
        fail(`unexpected field ${f} (wire type ${wt}) in MapKey`);
      }
      switch (f) {
        case 1:
          readVarint64(end);
          key = { kind: 'int32_key', value: VLO | 0 };
          break;
        case 2:
        case 6:
          readVarint64(end);
          key = { kind: MAP_KEY_NAME[f] as 'int64_key', value: int64Big(VLO, VHI) };
          break;
        case 3:
          key = { kind: 'float_key', value: readFloat(end) };
          break;
        case 4:
          key = { kind: 'double_key', value: readDouble(end) };
          break;
        case 5:
          readVarint64(end);
          key = { kind: 'bool_key', value: VLO !== 0 || VHI !== 0 };
          break;
        case 7: {
          const fe = readLenEnd(end);
          key = { kind: 'bytes_key', value: Buffer.from(B.subarray(P, fe)) };
          P = fe;
          break;
        }
        default: {
          const fe = readLenEnd(end);
          key = { kind: MAP_KEY_NAME[f] as 'uuid_key', value: utf8At(P, fe) };
          P = fe;
        }
      }
    }
  }
  return key;
}

function readScalarMap(ranges: readonly number[]): { key: DecodedMapKey | null; value: DecodedValue }[] {
  const els = elementRanges(ranges, 'ScalarMap');
  const out: { key: DecodedMapKey | null; value: DecodedValue }[] = [];
  for (let i = 0; i < els.length; i += 2) {
    P = els[i]!;
    const end = els[i + 1]!;
    const keyRanges: number[] = [];
    const valueRanges: number[] = [];
    while (P < end) {
      const tag = readSmall(end);
      if (tag !== 0x0a && tag !== 0x12) {
        fail(`unexpected field ${Math.floor(tag / 8)} (wire type ${tag & 7}) in ScalarMapEntry`);
      }
      const fe = readLenEnd(end);
      (tag === 0x0a ? keyRanges : valueRanges).push(P, fe);
      P = fe;
    }
    const key = keyRanges.length === 0 ? null : readMapKey(keyRanges);
    out.push({ key, value: decodeValueRanges(valueRanges) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoded → JSON (slow path)

function floatJson(x: number): string {
  return pyFloatRepr(x);
}

function mapObjectJson(m: Map<string, DecodedValue>): string {
  let out = '{';
  let first = true;
  for (const [k, v] of m) {
    out += (first ? '' : ',') + JSON.stringify(k) + ':' + decodedToJson(v);
    first = false;
  }
  return out + '}';
}

/** The JSON text Feast's HTTP server writes for a decoded Value (same rules as valueToJson). */
export function decodedToJson(d: DecodedValue): string {
  switch (d.kind) {
    case 'unset':
    case 'null_val':
    case 'scalar_map_val':
      return 'null';
    case 'bytes_val':
      return '"' + d.value.toString('base64') + '"';
    case 'string_val':
    case 'json_val':
    case 'uuid_val':
    case 'time_uuid_val':
    case 'decimal_val':
      return JSON.stringify(d.value);
    case 'int32_val':
      return String(d.value);
    case 'int64_val':
    case 'unix_timestamp_val':
      return d.value.toString();
    case 'double_val':
    case 'float_val':
      return floatJson(d.value);
    case 'bool_val':
      return d.value ? 'true' : 'false';
    case 'bytes_list_val':
    case 'bytes_set_val':
      return '[' + d.value.map((b) => '"' + b.toString('base64') + '"').join(',') + ']';
    case 'string_list_val':
    case 'string_set_val':
    case 'json_list_val':
    case 'uuid_list_val':
    case 'time_uuid_list_val':
    case 'uuid_set_val':
    case 'time_uuid_set_val':
    case 'decimal_list_val':
    case 'decimal_set_val':
      return '[' + d.value.map((s) => JSON.stringify(s)).join(',') + ']';
    case 'int32_list_val':
    case 'int32_set_val':
      return '[' + d.value.join(',') + ']';
    case 'int64_list_val':
    case 'int64_set_val':
    case 'unix_timestamp_list_val':
    case 'unix_timestamp_set_val':
      return '[' + d.value.map((v) => v.toString()).join(',') + ']';
    case 'double_list_val':
    case 'double_set_val':
    case 'float_list_val':
    case 'float_set_val':
      return '[' + d.value.map(floatJson).join(',') + ']';
    case 'bool_list_val':
    case 'bool_set_val':
      return '[' + d.value.map((b) => (b ? 'true' : 'false')).join(',') + ']';
    case 'map_val':
    case 'struct_val':
      return mapObjectJson(d.value);
    case 'map_list_val':
    case 'struct_list_val':
      return '[' + d.value.map(mapObjectJson).join(',') + ']';
    case 'list_val':
    case 'set_val':
      return '[' + d.value.map(decodedToJson).join(',') + ']';
    case 'zoned_timestamp_val': {
      const t = zonedTimestampText(d.value.unixTimestamp, d.value.zone);
      return t === null ? 'null' : JSON.stringify(t);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * True when the Value bytes `buf[start, end)` carry no value: empty (unset oneof, what Feast
 * writes for None) or `null_val`. Only the top-level framing is read.
 */
export function isNullValue(buf: Uint8Array, start: number, end: number): boolean {
  if (start === end) return true;
  // canonical null_val: tag 19/varint (0x98 0x01) + one-byte enum value
  if (end - start === 3 && buf[start] === 0x98 && buf[start + 1] === 0x01 && buf[start + 2]! < 0x80) return true;
  // The common case, one int32/int64/bool varint field (tags 0x18, 0x20, 0x38) and nothing else.
  const tag = buf[start];
  if ((tag === 0x18 || tag === 0x20 || tag === 0x38) && end - start <= 11) {
    let i = start + 1;
    while (i < end && buf[i]! >= 0x80) i++;
    if (i === end - 1) return false;
  }
  checkRange(buf, start, end);
  B = asBuffer(buf);
  P = start;
  let last = 0;
  try {
    while (P < end) {
      const tag = readSmall(end);
      const f = Math.floor(tag / 8);
      const wt = tag & 7;
      const shape = FIELD_SHAPE[f];
      if (shape === undefined) fail(`unknown Value field ${f} (wire type ${wt})`);
      if (shape !== wt) fail(`Value field ${f} (${FIELD_NAME[f]}) has wire type ${wt}`);
      skipField(wt, end);
      last = f;
    }
  } finally {
    B = EMPTY;
  }
  return last === 0 || last === 19;
}

/** The JSON text Feast's Python HTTP server writes for the Value bytes `buf[start, end)`. */
export function valueToJson(buf: Uint8Array, start: number, end: number): string {
  if (start === end) return 'null';
  checkRange(buf, start, end);
  B = asBuffer(buf);
  try {
    return valueJsonAt(start, end);
  } catch (e) {
    if (e !== SLOW) throw e;
    return decodedToJson(decodeValueRanges([start, end]));
  } finally {
    B = EMPTY;
  }
}

/** Decode the Value bytes `buf[start, end)` into a JS representation (int64 as bigint). */
export function decodeValue(buf: Uint8Array, start = 0, end: number = buf.length): DecodedValue {
  checkRange(buf, start, end);
  B = asBuffer(buf);
  try {
    return decodeValueRanges([start, end]);
  } finally {
    B = EMPTY;
  }
}
