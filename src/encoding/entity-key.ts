/**
 * Feast's entity-key serialization (the Redis key prefix and the SQLite `entity_key` column).
 *
 * Layout (all framing integers uint32 little-endian; join keys sorted by name in code-point
 * order, keys first then values, both in that order):
 *
 *   v3:    u32(count) | per key: u32(2) u32(len) utf8(key) | per value: u32(type) u32(len) payload
 *   v1/v2:             per key: u32(2)          utf8(key) | per value: u32(type) u32(len) payload
 *
 * Payloads: string → UTF-8; bytes → raw; int32 → 4 bytes signed LE; int64 → 8 bytes signed LE
 * (v2, v3) or 4 bytes (v1, where values outside int32 raise); unix_timestamp → 8 bytes, type 8.
 * Anything else is rejected. See sdk/python/feast/infra/key_encoding_utils.py
 * (`serialize_entity_key`, `_serialize_val`) and go/internal/feast/onlinestore/onlinestore.go.
 */
import { PlatterError } from '../errors.js';
import { ValueType } from './value-type.js';

export type EntityKeyVersion = 1 | 2 | 3;

export type EntityScalar =
  | { type: 1; value: Uint8Array }
  | { type: 2; value: string }
  | { type: 3; value: number }
  | { type: 4; value: bigint | number }
  | { type: 8; value: bigint | number };

export interface EntityKeyEncoder {
  /** The join keys as given (the order `values` must follow). */
  readonly joinKeys: readonly string[];
  readonly version: EntityKeyVersion;
  /** Serialize one entity row; `values[i]` belongs to `joinKeys[i]`. `suffix` is appended. */
  encode(values: readonly EntityScalar[], suffix?: Uint8Array): Buffer;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO32 = 4294967296;

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? v.slice(0, 64) + '…' : v);
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  try {
    return String(JSON.stringify(v));
  } catch {
    return String(v);
  }
}

function invalid(joinKey: string, v: unknown, why: string): PlatterError {
  return new PlatterError(
    'ENTITY_VALUE_INVALID',
    `entity value ${describe(v)} for join key "${joinKey}" ${why}`,
  );
}

function utf8Key(k: string): Buffer {
  if (typeof k !== 'string' || hasLoneSurrogate(k)) {
    throw new PlatterError('INVALID_ARGUMENT', `join key ${describe(k)} is not a well-formed string`);
  }
  return Buffer.from(k, 'utf8');
}

/** Bytes of the value payload (validates the value; strings are measured, not encoded). */
function payloadLength(joinKey: string, s: EntityScalar, version: EntityKeyVersion): number {
  if (s === null || typeof s !== 'object') throw invalid(joinKey, s, 'is not an entity value');
  switch (s.type) {
    case 2: {
      const v = s.value;
      if (typeof v !== 'string') throw invalid(joinKey, v, 'is not a string (STRING join key)');
      if (v.length < 64 && isAscii(v)) return v.length;
      // Python's str.encode('utf8') raises on lone surrogates (a JSON "\ud800" escape gives one)
      if (hasLoneSurrogate(v)) throw invalid(joinKey, v, 'contains a lone UTF-16 surrogate');
      return Buffer.byteLength(v, 'utf8');
    }
    case 3: {
      const v = s.value;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
        throw invalid(joinKey, v, 'does not fit INT32');
      }
      return 4;
    }
    case 4: {
      const v = s.value;
      checkInt64(joinKey, v, 'INT64');
      if (version === 1) {
        if (v < -2147483648 || v > 2147483647) {
          throw invalid(joinKey, v, 'does not fit the 4 bytes entity key serialization version 1 allows for INT64');
        }
        return 4;
      }
      return 8;
    }
    case 8:
      checkInt64(joinKey, s.value, 'UNIX_TIMESTAMP');
      return 8;
    case 1: {
      const v = s.value;
      if (!(v instanceof Uint8Array)) throw invalid(joinKey, v, 'is not a byte array (BYTES join key)');
      return v.length;
    }
    default:
      throw invalid(
        joinKey,
        (s as { value: unknown }).value,
        `has type ${(s as { type: unknown }).type}, which Feast cannot use in an entity key (only BYTES, STRING, INT32, INT64, UNIX_TIMESTAMP)`,
      );
  }
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** In a /u regex a surrogate range matches only unpaired surrogates. */
function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function checkInt64(joinKey: string, v: unknown, what: string): void {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw invalid(joinKey, v, `does not fit ${what} exactly (numbers must be safe integers; use a bigint)`);
    }
  } else if (typeof v === 'bigint') {
    if (v < INT64_MIN || v > INT64_MAX) throw invalid(joinKey, v, `does not fit ${what}`);
  } else {
    throw invalid(joinKey, v, `is not an integer (${what} join key)`);
  }
}

function writeU32(out: Buffer, pos: number, v: number): void {
  out[pos] = v;
  out[pos + 1] = v >>> 8;
  out[pos + 2] = v >>> 16;
  out[pos + 3] = v >>> 24;
}

/** Write a signed 64-bit integer (safe number or in-range bigint) LE. */
function writeI64(out: Buffer, pos: number, v: number | bigint): void {
  if (typeof v === 'bigint') {
    out.writeBigInt64LE(v, pos);
    return;
  }
  writeU32(out, pos, v >>> 0);
  writeU32(out, pos + 4, Math.floor(v / TWO32) | 0);
}

function writeAscii(out: Buffer, pos: number, s: string): void {
  for (let i = 0; i < s.length; i++) out[pos + i] = s.charCodeAt(i);
}

/** Compare two byte strings (UTF-8 byte order = code-point order, as Python's `sorted` on str). */
function compareUtf8(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/**
 * Precompile an encoder for one join-key set: the sort permutation, the header (count + key
 * names) and the framing are computed once; `encode` only measures and writes the values into
 * one exact-size Buffer.
 */
export function createEntityKeyEncoder(joinKeys: readonly string[], version: EntityKeyVersion): EntityKeyEncoder {
  if (version !== 1 && version !== 2 && version !== 3) {
    throw new PlatterError('CONFIG_UNSUPPORTED', `entity_key_serialization_version ${String(version)} is not supported (use 1, 2 or 3)`);
  }
  const n = joinKeys.length;
  const keyBytes = joinKeys.map(utf8Key);
  const perm = Array.from({ length: n }, (_, i) => i);
  if (n > 1) perm.sort((i, j) => compareUtf8(keyBytes[i]!, keyBytes[j]!));
  for (let i = 1; i < n; i++) {
    if (compareUtf8(keyBytes[perm[i - 1]!]!, keyBytes[perm[i]!]!) === 0) {
      throw new PlatterError('INVALID_ARGUMENT', `join key "${joinKeys[perm[i]!]}" appears twice in one entity key`);
    }
  }
  const withLengths = version >= 3;
  const parts: Buffer[] = [];
  if (withLengths) {
    const c = Buffer.allocUnsafe(4);
    writeU32(c, 0, n);
    parts.push(c);
  }
  for (const i of perm) {
    const kb = keyBytes[i]!;
    const h = Buffer.allocUnsafe(withLengths ? 8 : 4);
    writeU32(h, 0, ValueType.STRING);
    if (withLengths) writeU32(h, 4, kb.length);
    parts.push(h, kb);
  }
  const header = Buffer.concat(parts);
  const headerLen = header.length;
  const sortedKeys = perm.map((i) => joinKeys[i]!);
  const permArr = Int32Array.from(perm);
  const lens = new Int32Array(n);
  const frozenKeys = Object.freeze([...joinKeys]);

  function encode(values: readonly EntityScalar[], suffix?: Uint8Array): Buffer {
    if (values.length !== n) {
      throw new PlatterError('INTERNAL', `entity key needs ${n} values (${frozenKeys.join(', ')}), got ${values.length}`);
    }
    let size = headerLen + 8 * n + (suffix === undefined ? 0 : suffix.length);
    for (let j = 0; j < n; j++) {
      const len = payloadLength(sortedKeys[j]!, values[permArr[j]!]!, version);
      lens[j] = len;
      size += len;
    }
    const out = Buffer.allocUnsafe(size);
    // byte loops: TypedArray#set is a native call that costs more than copying a short header
    if (headerLen <= 64) for (let i = 0; i < headerLen; i++) out[i] = header[i]!;
    else out.set(header, 0);
    let pos = headerLen;
    for (let j = 0; j < n; j++) {
      const s = values[permArr[j]!]!;
      const len = lens[j]!;
      writeU32(out, pos, s.type);
      writeU32(out, pos + 4, len);
      pos += 8;
      switch (s.type) {
        case 2:
          if (len === s.value.length) writeAscii(out, pos, s.value);
          else out.write(s.value, pos, len, 'utf8');
          break;
        case 3:
          writeU32(out, pos, s.value | 0);
          break;
        case 4:
          if (len === 4) writeU32(out, pos, Number(s.value) | 0);
          else writeI64(out, pos, s.value);
          break;
        case 8:
          writeI64(out, pos, s.value);
          break;
        case 1:
          out.set(s.value, pos);
          break;
      }
      pos += len;
    }
    if (suffix !== undefined) {
      const sl = suffix.length;
      if (sl <= 64) for (let i = 0; i < sl; i++) out[pos + i] = suffix[i]!;
      else out.set(suffix, pos);
    }
    return out;
  }

  return { joinKeys: frozenKeys, version, encode };
}

/**
 * Feast's `serialize_entity_key` for versions 1, 2 and 3. `values[i]` belongs to `joinKeys[i]`
 * (any order; they are sorted by join key). Not for the hot path: it compiles an encoder per call.
 */
export function serializeEntityKey(
  joinKeys: readonly string[],
  values: readonly EntityScalar[],
  version: EntityKeyVersion,
): Buffer {
  if (joinKeys.length !== values.length) {
    throw new PlatterError('INTERNAL', `entity key has ${joinKeys.length} join keys but ${values.length} values`);
  }
  return createEntityKeyEncoder(joinKeys, version).encode(values);
}
