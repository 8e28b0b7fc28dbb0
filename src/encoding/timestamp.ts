/**
 * `google.protobuf.Timestamp` bytes and Feast's RFC 3339 rendering of them.
 *
 * Feast's Redis store writes `_ts:<view>` as a serialized Timestamp (field 1 int64 seconds,
 * field 2 int32 nanos). Feast < 0.59 wrote seconds only; proto3 omits zero fields, so either
 * field may be absent (sdk/python/feast/infra/online_stores/redis.py).
 *
 * The HTTP JSON form follows `_timestamp_to_str` in sdk/python/feast/feature_server_utils.py
 * (which mirrors google.protobuf's `Timestamp.ToJsonString`): `YYYY-MM-DDTHH:MM:SS` in UTC,
 * then no fraction when nanos == 0, else 3 digits if nanos is a whole number of milliseconds,
 * 6 if a whole number of microseconds, else 9; then `Z`.
 */
import { PlatterError } from '../errors.js';

export interface TimestampParts {
  seconds: number;
  nanos: number;
}

/** Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the Timestamp / Python datetime range. */
const MIN_SECONDS = -62135596800;
const MAX_SECONDS = 253402300799;

function malformed(what: string): PlatterError {
  return new PlatterError('INTERNAL', `malformed google.protobuf.Timestamp: ${what}`);
}

/**
 * Decode a serialized Timestamp from `buf[start, end)`. Unknown fields are skipped (as any
 * protobuf parser does); a truncated or malformed message throws `PlatterError('INTERNAL')`.
 */
export function decodeTimestamp(buf: Uint8Array, start = 0, end: number = buf.length): TimestampParts {
  let seconds = 0;
  let nanos = 0;
  let pos = start;
  while (pos < end) {
    // tag (Timestamp tags fit in one byte; longer tags are unknown fields)
    let tag = 0;
    let shift = 0;
    for (;;) {
      if (pos >= end) throw malformed('truncated tag');
      const b = buf[pos++]!;
      tag += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
      if (shift > 35) throw malformed('tag varint too long');
    }
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (wt === 0) {
      // varint: keep the low 64 bits as two 32-bit halves
      let lo = 0;
      let hi = 0;
      let i = 0;
      for (;; i++) {
        if (pos >= end) throw malformed('truncated varint');
        if (i >= 10) throw malformed('varint too long');
        const b = buf[pos++]!;
        if (i < 4) lo |= (b & 0x7f) << (7 * i);
        else if (i === 4) {
          lo |= (b & 0x0f) << 28;
          hi |= (b & 0x7f) >> 4;
        } else hi |= (b & 0x7f) << (7 * i - 32);
        if (b < 0x80) break;
      }
      if (field === 1) {
        const h = hi | 0;
        // Valid Timestamps are far inside ±2^53; reject anything outside the safe range.
        if (h > 0x1fffff || h < -0x200000) throw malformed('seconds out of range');
        seconds = h * 4294967296 + (lo >>> 0);
      } else if (field === 2) {
        nanos = lo | 0;
      }
    } else if (wt === 2) {
      let len = 0;
      let s = 0;
      for (;;) {
        if (pos >= end) throw malformed('truncated length');
        const b = buf[pos++]!;
        len += (b & 0x7f) * 2 ** s;
        if (b < 0x80) break;
        s += 7;
        if (s > 35) throw malformed('length varint too long');
      }
      if (field === 1 || field === 2) throw malformed(`field ${field} has wire type 2`);
      pos += len;
    } else if (wt === 1) {
      if (field === 1 || field === 2) throw malformed(`field ${field} has wire type 1`);
      pos += 8;
    } else if (wt === 5) {
      if (field === 1 || field === 2) throw malformed(`field ${field} has wire type 5`);
      pos += 4;
    } else {
      throw malformed(`unsupported wire type ${wt}`);
    }
    if (field === 0) throw malformed('field number 0');
  }
  if (pos !== end) throw malformed('truncated field');
  return { seconds, nanos };
}

function varintLength(v: number): number {
  // v is a non-negative safe integer
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Buffer, pos: number, v: number): number {
  while (v >= 128) {
    out[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

/** Serialize a Timestamp the way protobuf does: zero fields omitted, negatives as 10-byte varints. */
export function encodeTimestamp(seconds: number, nanos = 0): Buffer {
  if (!Number.isSafeInteger(seconds)) {
    throw new PlatterError('INTERNAL', `timestamp seconds must be a safe integer, got ${seconds}`);
  }
  if (!Number.isInteger(nanos) || nanos < -2147483648 || nanos > 2147483647) {
    throw new PlatterError('INTERNAL', `timestamp nanos must be an int32, got ${nanos}`);
  }
  // negative varints are the 64-bit two's complement: 2^64 + v, always 10 bytes
  const secLen = seconds === 0 ? 0 : seconds < 0 ? 11 : 1 + varintLength(seconds);
  const nanLen = nanos === 0 ? 0 : nanos < 0 ? 11 : 1 + varintLength(nanos);
  const out = Buffer.allocUnsafe(secLen + nanLen);
  let pos = 0;
  if (seconds !== 0) {
    out[pos++] = 0x08;
    pos = seconds < 0 ? writeNegativeVarint(out, pos, seconds) : writeVarint(out, pos, seconds);
  }
  if (nanos !== 0) {
    out[pos++] = 0x10;
    pos = nanos < 0 ? writeNegativeVarint(out, pos, nanos) : writeVarint(out, pos, nanos);
  }
  return out;
}

function writeNegativeVarint(out: Buffer, pos: number, v: number): number {
  let x = BigInt.asUintN(64, BigInt(v));
  for (let i = 0; i < 9; i++) {
    out[pos++] = Number(x & 0x7fn) | 0x80;
    x >>= 7n;
  }
  out[pos++] = Number(x);
  return pos;
}

const TWO = [
  '00', '01', '02', '03', '04', '05', '06', '07', '08', '09',
  '10', '11', '12', '13', '14', '15', '16', '17', '18', '19',
  '20', '21', '22', '23', '24', '25', '26', '27', '28', '29',
  '30', '31', '32', '33', '34', '35', '36', '37', '38', '39',
  '40', '41', '42', '43', '44', '45', '46', '47', '48', '49',
  '50', '51', '52', '53', '54', '55', '56', '57', '58', '59',
];

/**
 * Date part `YYYY-MM-DD` of a day count since the epoch (proleptic Gregorian; H. Hinnant's
 * civil_from_days).
 */
function civilDate(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const ys = y >= 1000 ? String(y) : String(y).padStart(4, '0');
  return ys + '-' + TWO[m]! + '-' + TWO[d]!;
}

/** `YYYY-MM-DDTHH:MM:SS` (no zone) of epoch seconds; `seconds` must be an integer in range. */
export function formatDateTimeSeconds(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  let rem = seconds - days * 86400;
  const hh = Math.floor(rem / 3600);
  rem -= hh * 3600;
  const mm = Math.floor(rem / 60);
  const ss = rem - mm * 60;
  return civilDate(days) + 'T' + TWO[hh]! + ':' + TWO[mm]! + ':' + TWO[ss]!;
}

/** Cache of the last day rendered: consecutive timestamps in a response are usually close. */
let lastDay = NaN;
let lastDayText = '';

/**
 * RFC 3339 text of a Timestamp as Feast's Python HTTP server prints it
 * (feature_server_utils.py `_timestamp_to_str`): UTC, `Z`, adaptive fraction (none / 3 / 6 / 9
 * digits). Epoch 0 is `1970-01-01T00:00:00Z`.
 *
 * Seconds outside 0001..9999 (where Python's datetime raises, so Feast answers 500) and nanos
 * outside [0, 1e9) (an invalid Timestamp) throw `PlatterError('INTERNAL')`.
 */
export function formatRfc3339(seconds: number, nanos: number): string {
  if (!Number.isInteger(seconds) || seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    throw new PlatterError('INTERNAL', `timestamp seconds ${seconds} outside years 0001..9999`);
  }
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999999999) {
    throw new PlatterError('INTERNAL', `timestamp nanos ${nanos} outside 0..999999999`);
  }
  const days = Math.floor(seconds / 86400);
  let rem = seconds - days * 86400;
  if (days !== lastDay) {
    lastDay = days;
    lastDayText = civilDate(days) + 'T';
  }
  const hh = Math.floor(rem / 3600);
  rem -= hh * 3600;
  const mm = Math.floor(rem / 60);
  const ss = rem - mm * 60;
  const base = lastDayText + TWO[hh]! + ':' + TWO[mm]! + ':' + TWO[ss]!;
  if (nanos === 0) return base + 'Z';
  if (nanos % 1000000 === 0) return base + '.' + String(nanos / 1000000).padStart(3, '0') + 'Z';
  if (nanos % 1000 === 0) return base + '.' + String(nanos / 1000).padStart(6, '0') + 'Z';
  return base + '.' + String(nanos).padStart(9, '0') + 'Z';
}

const ISO_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * ISO-8601 text as Feast writes and reads it (`2021-04-12 10:59:42.123456`, with `T` or a space,
 * up to nanoseconds, optional zone; naive text is UTC, as Feast treats it). Null when not of that form.
 */
export function parseIsoTimestamp(text: string): TimestampParts | null {
  const m = ISO_TIMESTAMP.exec(text.trim());
  if (!m) return null;
  const zone = m[4] ?? 'Z';
  const ms = Date.parse(`${m[1]}T${m[2]}${zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`}`);
  if (Number.isNaN(ms)) return null;
  return { seconds: Math.floor(ms / 1000), nanos: Number((m[3] ?? '').padEnd(9, '0')) };
}
