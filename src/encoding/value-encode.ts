/**
 * JS value → serialized `feast.types.Value` for a declared Feast type (writers, test seeders).
 * Correctness over speed: validates the input, builds the message with protobufjs from our
 * protos/feast/types/Value.proto.
 *
 * `null` / `undefined` → an empty Value (unset oneof), which is what Feast writes for None
 * (type_map.py `_python_value_to_proto_value` appends `ProtoValue()` for None).
 *
 * Accepted inputs per type:
 * - BYTES: Uint8Array (a string is taken as its UTF-8 bytes); STRING/UUID/TIME_UUID: string;
 *   DECIMAL: string, number or bigint (its decimal text); JSON: a string is stored as is (it
 *   must parse as JSON), anything else is serialized with `pyJsonDumps` (Python's json.dumps
 *   defaults, as Feast does for non-string JSON values);
 * - INT32: integer number; INT64: bigint, safe-integer number, or decimal string;
 *   DOUBLE/FLOAT: number; BOOL: boolean; UNIX_TIMESTAMP: epoch seconds (int64 forms) or a Date
 *   (floored to whole seconds);
 * - *_LIST / *_SET: arrays (or Sets) of the element form;
 * - MAP/STRUCT: plain object or Map<string, unknown>; MAP_LIST/STRUCT_LIST: arrays of those.
 *   Nested values are typed by inference (`inferValue`) unless wrapped with `typed()`;
 * - VALUE_LIST/VALUE_SET: array of nested values (inferred or `typed()`);
 * - SCALAR_MAP: Map with non-string keys (number → int64_key, or double_key when not an
 *   integer; bigint → int64_key; boolean; Uint8Array → bytes_key; Date → unix_timestamp_key)
 *   or an array of `[MapKeyObject, value]` pairs where MapKeyObject is e.g. `{ int32_key: 1 }`;
 * - ZONED_TIMESTAMP: `{ seconds: int64, zone?: string }`, or a Date (zone "").
 * - NULL: anything → `null_val: NULL`.
 */
import { Buffer } from 'node:buffer';
import { PlatterError } from '../errors.js';
import { protoType } from '../proto/root.js';
import { pyFloatRepr } from './py-float.js';
import { ValueType, type ValueTypeNumber, valueTypeName } from './value-type.js';

/** A nested value with an explicit Feast type (inside maps, VALUE_LIST, SCALAR_MAP). */
export class TypedValue {
  constructor(
    readonly type: ValueTypeNumber,
    readonly value: unknown,
  ) {}
}

export function typed(type: ValueTypeNumber, value: unknown): TypedValue {
  return new TypedValue(type, value);
}

const NULL_VALUE_BYTES = Buffer.from([0x98, 0x01, 0x00]);

/** `Value { null_val: NULL }` (hex 980100). */
export function encodeNullValue(): Buffer {
  return Buffer.from(NULL_VALUE_BYTES);
}

export function encodeValue(type: ValueTypeNumber, v: unknown): Buffer {
  if (v === null || v === undefined) return Buffer.alloc(0);
  const obj = valueObject(type, v, 'value');
  const t = protoType('feast.types.Value');
  const msg = t.fromObject(obj);
  const err = t.verify(msg);
  if (err !== null) throw new PlatterError('INTERNAL', `encodeValue built an invalid Value: ${err}`);
  const bytes = t.encode(msg).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function bad(path: string, v: unknown, why: string): PlatterError {
  let shown: string;
  try {
    shown = typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : String(JSON.stringify(v));
  } catch {
    shown = String(v);
  }
  return new PlatterError('INVALID_ARGUMENT', `${path}: ${shown} ${why}`);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function int32(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw bad(path, v, 'is not an INT32');
  }
  return v;
}

/** int64 as a decimal string (protobufjs parses it into a Long exactly). */
function int64(v: unknown, path: string): string {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else if (typeof v === 'string' && /^-?\d+$/.test(v)) b = BigInt(v);
  else throw bad(path, v, 'is not an INT64 (use a bigint, a safe integer or a decimal string)');
  if (b < INT64_MIN || b > INT64_MAX) throw bad(path, v, 'does not fit INT64');
  return b.toString();
}

function seconds(v: unknown, path: string): string {
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) throw bad(path, v, 'is an invalid Date');
    return String(Math.floor(ms / 1000));
  }
  return int64(v, path);
}

function num(v: unknown, path: string, what: string): number {
  if (typeof v !== 'number') throw bad(path, v, `is not a ${what} (number)`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw bad(path, v, 'is not a BOOL');
  return v;
}

function str(v: unknown, path: string, what = 'STRING'): string {
  if (typeof v !== 'string') throw bad(path, v, `is not a ${what} (string)`);
  if (/[\uD800-\uDFFF]/u.test(v)) throw bad(path, v, 'contains a lone UTF-16 surrogate');
  return v;
}

function bytes(v: unknown, path: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(str(v, path), 'utf8');
  throw bad(path, v, 'is not BYTES (Uint8Array)');
}

function decimal(v: unknown, path: string): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return str(v, path, 'DECIMAL');
}

function jsonText(v: unknown, path: string): string {
  if (typeof v === 'string') {
    try {
      JSON.parse(v);
    } catch {
      throw bad(path, v, 'is not a valid JSON string');
    }
    return str(v, path);
  }
  return pyJsonDumps(v, path);
}

function items(v: unknown, path: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (v instanceof Set) return [...v];
  throw bad(path, v, 'is not an array');
}

function listOf<T>(v: unknown, path: string, f: (x: unknown, p: string) => T): { val: T[] } {
  return {
    val: items(v, path).map((x, i) => {
      if (x === null || x === undefined) throw bad(`${path}[${i}]`, x, 'is null (lists cannot hold nulls)');
      return f(x, `${path}[${i}]`);
    }),
  };
}

function isPlainObject(v: unknown): v is Obj {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function mapObject(v: unknown, path: string): { val: Obj } {
  const out: Obj = {};
  let entries: [unknown, unknown][];
  if (v instanceof Map) entries = [...v.entries()];
  else if (isPlainObject(v)) entries = Object.entries(v);
  else throw bad(path, v, 'is not a map (plain object or Map with string keys)');
  for (const [k, x] of entries) {
    if (typeof k !== 'string') throw bad(path, k, 'is not a string map key (use SCALAR_MAP)');
    out[k] = nestedObject(x, `${path}.${k}`);
  }
  return { val: out };
}

function mapKeyObject(k: unknown, path: string): Obj {
  if (isPlainObject(k)) {
    const keys = Object.keys(k);
    const allowed: Record<string, (x: unknown, p: string) => unknown> = {
      int32_key: int32,
      int64_key: int64,
      float_key: (x, p) => num(x, p, 'FLOAT'),
      double_key: (x, p) => num(x, p, 'DOUBLE'),
      bool_key: bool,
      unix_timestamp_key: seconds,
      bytes_key: bytes,
      uuid_key: (x, p) => str(x, p, 'UUID'),
      time_uuid_key: (x, p) => str(x, p, 'TIME_UUID'),
      decimal_key: decimal,
    };
    const name = keys[0];
    if (keys.length !== 1 || name === undefined || allowed[name] === undefined) {
      throw bad(path, k, 'is not a MapKey object (exactly one of int32_key, int64_key, ...)');
    }
    return { [name]: allowed[name]!(k[name], `${path}.${name}`) };
  }
  if (typeof k === 'boolean') return { bool_key: k };
  if (typeof k === 'bigint') return { int64_key: int64(k, path) };
  if (typeof k === 'number') return Number.isInteger(k) ? { int64_key: int64(k, path) } : { double_key: k };
  if (k instanceof Uint8Array) return { bytes_key: k };
  if (k instanceof Date) return { unix_timestamp_key: seconds(k, path) };
  throw bad(path, k, 'is not a supported SCALAR_MAP key');
}

function scalarMapObject(v: unknown, path: string): { val: Obj[] } {
  let entries: [unknown, unknown][];
  if (v instanceof Map) entries = [...v.entries()];
  else if (Array.isArray(v)) {
    entries = v.map((e, i) => {
      if (!Array.isArray(e) || e.length !== 2) throw bad(`${path}[${i}]`, e, 'is not a [key, value] pair');
      return [e[0], e[1]] as [unknown, unknown];
    });
  } else throw bad(path, v, 'is not a SCALAR_MAP (Map or array of [key, value])');
  return {
    val: entries.map(([k, x], i) => ({ key: mapKeyObject(k, `${path}[${i}].key`), value: nestedObject(x, `${path}[${i}].value`) })),
  };
}

/** A nested Value object: typed() as declared, null → empty Value, else inferred. */
function nestedObject(v: unknown, path: string): Obj {
  if (v === null || v === undefined) return {};
  if (v instanceof TypedValue) return v.value === null || v.value === undefined ? {} : valueObject(v.type, v.value, path);
  return valueObject(inferType(v, path), v, path);
}

/**
 * Feast type for an untyped JS value, as Feast infers Python values (type_map.py
 * `python_type_to_feast_value_type`): boolean → BOOL, integer number / bigint → INT64, other
 * number → DOUBLE (JS cannot tell 1.0 from 1), string → STRING, Uint8Array → BYTES,
 * Date → UNIX_TIMESTAMP, plain object / Map → MAP, array → the matching *_LIST (objects →
 * MAP_LIST, arrays → VALUE_LIST). Empty arrays cannot be inferred: wrap them with `typed()`.
 */
export function inferType(v: unknown, path = 'value'): ValueTypeNumber {
  switch (typeof v) {
    case 'boolean':
      return ValueType.BOOL;
    case 'bigint':
      return ValueType.INT64;
    case 'number':
      return Number.isInteger(v) ? ValueType.INT64 : ValueType.DOUBLE;
    case 'string':
      return ValueType.STRING;
  }
  if (v instanceof Uint8Array) return ValueType.BYTES;
  if (v instanceof Date) return ValueType.UNIX_TIMESTAMP;
  if (v instanceof Map || isPlainObject(v)) return ValueType.MAP;
  if (Array.isArray(v)) {
    const xs = v.filter((x) => x !== null && x !== undefined);
    if (xs.length === 0) throw bad(path, v, 'is an empty (or all-null) list whose type cannot be inferred; use typed()');
    if (xs.every((x) => typeof x === 'boolean')) return ValueType.BOOL_LIST;
    if (xs.every((x) => typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x)))) return ValueType.INT64_LIST;
    if (xs.every((x) => typeof x === 'number')) return ValueType.DOUBLE_LIST;
    if (xs.every((x) => typeof x === 'string')) return ValueType.STRING_LIST;
    if (xs.every((x) => x instanceof Uint8Array)) return ValueType.BYTES_LIST;
    if (xs.every((x) => x instanceof Date)) return ValueType.UNIX_TIMESTAMP_LIST;
    if (xs.every((x) => x instanceof Map || isPlainObject(x))) return ValueType.MAP_LIST;
    if (xs.every((x) => Array.isArray(x) || x instanceof TypedValue)) return ValueType.VALUE_LIST;
    throw bad(path, v, 'mixes element types; use typed()');
  }
  throw bad(path, v, 'has no Feast type');
}

function zonedObject(v: unknown, path: string): Obj {
  if (v instanceof Date) return { unix_timestamp: seconds(v, path), zone: '' };
  if (isPlainObject(v) && 'seconds' in v) {
    const zone = v['zone'] === undefined ? '' : str(v['zone'], `${path}.zone`);
    return { unix_timestamp: int64(v['seconds'], `${path}.seconds`), zone };
  }
  throw bad(path, v, 'is not a ZONED_TIMESTAMP ({ seconds, zone } or Date)');
}

function valueObject(type: ValueTypeNumber, v: unknown, path: string): Obj {
  switch (type) {
    case ValueType.BYTES:
      return { bytes_val: bytes(v, path) };
    case ValueType.STRING:
      return { string_val: str(v, path) };
    case ValueType.INT32:
      return { int32_val: int32(v, path) };
    case ValueType.INT64:
      return { int64_val: int64(v, path) };
    case ValueType.DOUBLE:
      return { double_val: num(v, path, 'DOUBLE') };
    case ValueType.FLOAT:
      return { float_val: num(v, path, 'FLOAT') };
    case ValueType.BOOL:
      return { bool_val: bool(v, path) };
    case ValueType.UNIX_TIMESTAMP:
      return { unix_timestamp_val: seconds(v, path) };
    case ValueType.BYTES_LIST:
      return { bytes_list_val: listOf(v, path, bytes) };
    case ValueType.STRING_LIST:
      return { string_list_val: listOf(v, path, (x, p) => str(x, p)) };
    case ValueType.INT32_LIST:
      return { int32_list_val: listOf(v, path, int32) };
    case ValueType.INT64_LIST:
      return { int64_list_val: listOf(v, path, int64) };
    case ValueType.DOUBLE_LIST:
      return { double_list_val: listOf(v, path, (x, p) => num(x, p, 'DOUBLE')) };
    case ValueType.FLOAT_LIST:
      return { float_list_val: listOf(v, path, (x, p) => num(x, p, 'FLOAT')) };
    case ValueType.BOOL_LIST:
      return { bool_list_val: listOf(v, path, bool) };
    case ValueType.UNIX_TIMESTAMP_LIST:
      return { unix_timestamp_list_val: listOf(v, path, seconds) };
    case ValueType.NULL:
      return { null_val: 0 };
    case ValueType.MAP:
      return { map_val: mapObject(v, path) };
    case ValueType.MAP_LIST:
      return { map_list_val: { val: items(v, path).map((m, i) => mapObject(m, `${path}[${i}]`)) } };
    case ValueType.BYTES_SET:
      return { bytes_set_val: listOf(v, path, bytes) };
    case ValueType.STRING_SET:
      return { string_set_val: listOf(v, path, (x, p) => str(x, p)) };
    case ValueType.INT32_SET:
      return { int32_set_val: listOf(v, path, int32) };
    case ValueType.INT64_SET:
      return { int64_set_val: listOf(v, path, int64) };
    case ValueType.DOUBLE_SET:
      return { double_set_val: listOf(v, path, (x, p) => num(x, p, 'DOUBLE')) };
    case ValueType.FLOAT_SET:
      return { float_set_val: listOf(v, path, (x, p) => num(x, p, 'FLOAT')) };
    case ValueType.BOOL_SET:
      return { bool_set_val: listOf(v, path, bool) };
    case ValueType.UNIX_TIMESTAMP_SET:
      return { unix_timestamp_set_val: listOf(v, path, seconds) };
    case ValueType.JSON:
      return { json_val: jsonText(v, path) };
    case ValueType.JSON_LIST:
      return { json_list_val: listOf(v, path, jsonText) };
    case ValueType.STRUCT:
      return { struct_val: mapObject(v, path) };
    case ValueType.STRUCT_LIST:
      return { struct_list_val: { val: items(v, path).map((m, i) => mapObject(m, `${path}[${i}]`)) } };
    case ValueType.UUID:
      return { uuid_val: str(v, path, 'UUID') };
    case ValueType.TIME_UUID:
      return { time_uuid_val: str(v, path, 'TIME_UUID') };
    case ValueType.UUID_LIST:
      return { uuid_list_val: listOf(v, path, (x, p) => str(x, p, 'UUID')) };
    case ValueType.TIME_UUID_LIST:
      return { time_uuid_list_val: listOf(v, path, (x, p) => str(x, p, 'TIME_UUID')) };
    case ValueType.UUID_SET:
      return { uuid_set_val: listOf(v, path, (x, p) => str(x, p, 'UUID')) };
    case ValueType.TIME_UUID_SET:
      return { time_uuid_set_val: listOf(v, path, (x, p) => str(x, p, 'TIME_UUID')) };
    case ValueType.VALUE_LIST:
      return { list_val: { val: items(v, path).map((x, i) => nestedObject(x, `${path}[${i}]`)) } };
    case ValueType.VALUE_SET:
      return { set_val: { val: items(v, path).map((x, i) => nestedObject(x, `${path}[${i}]`)) } };
    case ValueType.DECIMAL:
      return { decimal_val: decimal(v, path) };
    case ValueType.DECIMAL_LIST:
      return { decimal_list_val: listOf(v, path, decimal) };
    case ValueType.DECIMAL_SET:
      return { decimal_set_val: listOf(v, path, decimal) };
    case ValueType.SCALAR_MAP:
      return { scalar_map_val: scalarMapObject(v, path) };
    case ValueType.ZONED_TIMESTAMP:
      return { zoned_timestamp_val: zonedObject(v, path) };
    default:
      throw new PlatterError('INVALID_ARGUMENT', `${path}: cannot encode a Value of type ${valueTypeName(type)}`);
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Python's `json.dumps(v)` with default arguments (separators ", " and ": ", ensure_ascii=True),
 * which Feast uses to store non-string JSON feature values (type_map.py). Integral numbers print
 * as integers (JS cannot tell 1.0 from 1), other numbers as Python's float repr, NaN/±Infinity as
 * Python writes them (`NaN`, `Infinity`, `-Infinity`).
 */
export function pyJsonDumps(v: unknown, path = 'value'): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      if (Number.isNaN(v)) return 'NaN';
      if (v === Infinity) return 'Infinity';
      if (v === -Infinity) return '-Infinity';
      return Number.isInteger(v) ? BigInt(v).toString() : pyFloatRepr(v);
    case 'string':
      return asciiJsonString(v);
  }
  if (Array.isArray(v)) return '[' + v.map((x, i) => pyJsonDumps(x, `${path}[${i}]`)).join(', ') + ']';
  if (v instanceof Map || isPlainObject(v)) {
    const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
    return (
      '{' +
      entries
        .map(([k, x]) => {
          if (typeof k !== 'string') throw bad(path, k, 'is not a string JSON key');
          return asciiJsonString(k) + ': ' + pyJsonDumps(x, `${path}.${k}`);
        })
        .join(', ') +
      '}'
    );
  }
  throw bad(path, v, 'is not JSON-serializable');
}

/**
 * JSON string literal with ensure_ascii: JSON.stringify already escapes `"`, `\\` and C0
 * controls exactly as Python does; Python additionally writes every code unit outside
 * 0x20..0x7e (DEL included) as \uXXXX in lowercase hex (astral characters as surrogate pairs).
 */
function asciiJsonString(s: string): string {
  const j = JSON.stringify(s);
  let out = '';
  let last = 0;
  for (let i = 0; i < j.length; i++) {
    const c = j.charCodeAt(i);
    if (c >= 0x7f) {
      out += j.slice(last, i) + '\\u' + c.toString(16).padStart(4, '0');
      last = i + 1;
    }
  }
  return last === 0 ? j : out + j.slice(last);
}
