/**
 * feast.types.Value bytes → JSON text, the generic decoder, and the Value encoder.
 *
 * Feast sources (commit f0bc0700be7029166e6605e407de6d229cd1e93e):
 * - sdk/python/feast/feature_server_utils.py (_value_to_native, _zoned_timestamp_to_str) and
 *   sdk/python/feast/feature_server.py (JSONResponse: json.dumps ensure_ascii=False,
 *   allow_nan=False, separators=(",", ":"))
 * - sdk/python/feast/type_map.py (_zone_from_name, _fixed_offset_from_name, None → empty Value)
 * - sdk/python/tests/unit/test_feature_server_utils.py (TestValueToNative, precision tests)
 * - protos/feast/types/Value.proto (field numbers; our copy in protos/ is the protobufjs reference)
 * - docs/specs/online_store_format.md (float_val example bytes)
 * Vectors: test/fixtures/feast-vectors/values.json (JSON text produced by Feast's own converter).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import Long from 'long';
import protobuf from 'protobufjs';
import { PlatterError } from '../../src/errors.js';
import { pyFloatRepr } from '../../src/encoding/py-float.js';
import { encodeNullValue, encodeValue, pyJsonDumps, typed } from '../../src/encoding/value-encode.js';
import {
  type DecodedValue,
  decodeValue,
  decodedToJson,
  isNullValue,
  valueToJson,
} from '../../src/encoding/value-json.js';
import { ValueType } from '../../src/encoding/value-type.js';
import { protoType } from '../../src/proto/root.js';
import { mulberry32 } from '../helpers/prng.js';

const V = protoType('feast.types.Value');
const pb = (obj: Record<string, unknown>): Buffer => {
  const m = V.fromObject(obj);
  const err = V.verify(m);
  if (err !== null) throw new Error(`bad test Value: ${err}`);
  const b = V.encode(m).finish();
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
};
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const json = (b: Uint8Array) => valueToJson(b, 0, b.length);
const isInternal = (e: unknown) => e instanceof PlatterError && e.code === 'INTERNAL';

const random = mulberry32(0x5eed0002);

interface ValueVector {
  name: string;
  kind: string;
  valueHex: string;
  json?: string;
  feastError?: string;
  source: string;
  method: string;
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/feast-vectors/values.json', import.meta.url), 'utf8')) as {
  vectors: ValueVector[];
  protoBytes: { name: string; valueHex: string; source: string }[];
  floatRepr: { vectors: { kind: 'double' | 'float'; bitsHex: string; repr: string }[] };
};

// ---------------------------------------------------------------------------------------------
// Normalizers: our DecodedValue and protobufjs' decoded message to one comparable shape.

type Norm = unknown;

function normOurs(d: DecodedValue): Norm {
  const v = d.value as unknown;
  return { kind: d.kind, value: normOursValue(d.kind, v) };
}
function normOursScalar(x: unknown): Norm {
  if (typeof x === 'bigint') return x.toString();
  if (x instanceof Uint8Array) return hexOf(x);
  return x;
}
function normOursValue(kind: string, v: unknown): Norm {
  switch (kind) {
    case 'unset':
    case 'null_val':
      return null;
    case 'map_val':
    case 'struct_val':
      return normMap(v as Map<string, DecodedValue>);
    case 'map_list_val':
    case 'struct_list_val':
      return (v as Map<string, DecodedValue>[]).map(normMap);
    case 'list_val':
    case 'set_val':
      return (v as DecodedValue[]).map(normOurs);
    case 'zoned_timestamp_val': {
      const z = v as { unixTimestamp: bigint; zone: string };
      return { unix_timestamp: z.unixTimestamp.toString(), zone: z.zone };
    }
    case 'scalar_map_val':
      return (v as { key: { kind: string; value: unknown } | null; value: DecodedValue }[]).map((e) => ({
        key: e.key === null ? null : { kind: e.key.kind, value: normOursScalar(e.key.value) },
        value: normOurs(e.value),
      }));
    default:
      return Array.isArray(v) ? v.map(normOursScalar) : normOursScalar(v);
  }
}
function normMap(m: Map<string, DecodedValue>): Norm {
  return Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, normOurs(x)]));
}

function normPbScalar(x: unknown): Norm {
  if (Long.isLong(x)) return (x as Long).toString();
  if (x instanceof Uint8Array) return hexOf(x);
  return x;
}
type Msg = Record<string, unknown>;
function normPb(m: Msg): Norm {
  const kind = (m['val'] as string | undefined) ?? 'unset';
  const v = m[kind];
  let value: Norm;
  switch (kind) {
    case 'unset':
    case 'null_val':
      value = null;
      break;
    case 'map_val':
    case 'struct_val':
      value = normPbMap(v as Msg);
      break;
    case 'map_list_val':
    case 'struct_list_val':
      value = ((v as Msg)['val'] as Msg[]).map(normPbMap);
      break;
    case 'list_val':
    case 'set_val':
      value = ((v as Msg)['val'] as Msg[]).map(normPb);
      break;
    case 'zoned_timestamp_val': {
      const z = v as Msg;
      value = { unix_timestamp: Long.fromValue((z['unix_timestamp'] ?? 0) as Long).toString(), zone: z['zone'] ?? '' };
      break;
    }
    case 'scalar_map_val':
      value = ((v as Msg)['val'] as Msg[]).map((e) => {
        const k = e['key'] as Msg | undefined;
        const kk = k === undefined || k === null ? undefined : (k['key'] as string | undefined);
        return {
          key: k === undefined || k === null ? null : kk === undefined ? null : { kind: kk, value: normPbScalar(k[kk]) },
          value: normPb((e['value'] as Msg | undefined) ?? {}),
        };
      });
      break;
    default:
      value = typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Long.isLong(v)
        ? ((v as Msg)['val'] as unknown[]).map(normPbScalar)
        : normPbScalar(v);
  }
  return { kind, value };
}
function normPbMap(m: Msg): Norm {
  const o = (m['val'] ?? {}) as Record<string, Msg>;
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, normPb(o[k]!)]));
}

/** decodeValue must agree with protobufjs on these bytes. */
function assertAgreesWithProtobufjs(bytes: Buffer, label: string): void {
  const ours = normOurs(decodeValue(bytes));
  const theirs = normPb(V.decode(bytes) as unknown as Msg);
  assert.deepStrictEqual(ours, theirs, label);
}

// ---------------------------------------------------------------------------------------------

const MAP_KINDS = new Set(['map_val', 'struct_val', 'map_list_val', 'struct_list_val']);

describe('valueToJson matches JSON produced by Feast\'s own converter', () => {
  for (const v of fx.vectors) {
    it(`${v.name} — ${v.source}`, () => {
      const bytes = Buffer.from(v.valueHex, 'hex');
      const got = json(bytes);
      const slow = decodedToJson(decodeValue(bytes));
      if (v.feastError !== undefined) {
        // Feast cannot render NaN/Infinity at all (500); Platter writes null.
        assert.equal(got, 'null');
        assert.equal(slow, 'null');
        return;
      }
      const expected = v.json!;
      if (MAP_KINDS.has(v.kind)) {
        // Python iterates protobuf maps in hash order: compare as objects
        assert.deepStrictEqual(JSON.parse(got), JSON.parse(expected));
        assert.deepStrictEqual(JSON.parse(slow), JSON.parse(expected));
      } else {
        assert.equal(got, expected);
        assert.equal(slow, expected);
      }
      assert.equal(isNullValue(bytes, 0, bytes.length), v.kind === 'unset' || v.kind === 'null_val');
      assertAgreesWithProtobufjs(bytes, v.name);
    });
  }
});

describe('Python float repr', () => {
  it('matches CPython json.dumps for random and boundary floats (fixture floatRepr)', () => {
    for (const f of fx.floatRepr.vectors) {
      const b = Buffer.from(f.bitsHex, 'hex');
      const x = f.kind === 'double' ? b.readDoubleLE(0) : b.readFloatLE(0);
      assert.equal(pyFloatRepr(x), f.repr, `${f.kind} ${f.bitsHex}`);
      const value = Buffer.concat([Buffer.from(f.kind === 'double' ? '29' : '35', 'hex'), b]);
      assert.equal(json(value), f.repr, `Value ${value.toString('hex')}`);
    }
  });

  it('handles the notation switch points and signs (hand-written from Python rules)', () => {
    const cases: [number, string][] = [
      [0, '0.0'], [-0, '-0.0'], [1, '1.0'], [-1, '-1.0'], [0.5, '0.5'], [100, '100.0'],
      [1e15, '1000000000000000.0'], [9999999999999998, '9999999999999998.0'], [1e16, '1e+16'],
      [-1e16, '-1e+16'], [1.5e16, '1.5e+16'], [1e22, '1e+22'], [1.7976931348623157e308, '1.7976931348623157e+308'],
      [0.0001, '0.0001'], [0.00011, '0.00011'], [1e-5, '1e-05'], [-1.5e-7, '-1.5e-07'], [5e-324, '5e-324'],
      [1e-100, '1e-100'], [0.1 + 0.2, '0.30000000000000004'], [123456789.125, '123456789.125'],
      [NaN, 'null'], [Infinity, 'null'], [-Infinity, 'null'],
    ];
    for (const [x, s] of cases) assert.equal(pyFloatRepr(x), s, String(x));
  });

  it('round-trips random doubles', () => {
    const dv = new DataView(new ArrayBuffer(8));
    for (let i = 0; i < 5000; i++) {
      dv.setUint32(0, (random() * 2 ** 32) >>> 0);
      dv.setUint32(4, (random() * 2 ** 32) >>> 0);
      const x = dv.getFloat64(0);
      if (!Number.isFinite(x)) continue;
      const s = pyFloatRepr(x);
      assert.ok(/^-?(\d+\.\d+|\d(\.\d+)?e[+-]\d{2,3})$/.test(s), s);
      assert.ok(Object.is(Number(s), x), `${s} vs ${x}`);
    }
  });
});

// Hand-written expectations from Feast's rules (feature_server_utils.py _value_to_native).
const HAND: [string, Record<string, unknown>, string][] = [
  ['bytes', { bytes_val: Buffer.from([0, 1, 2, 3]) }, '"AAECAw=="'],
  ['empty bytes', { bytes_val: Buffer.alloc(0) }, '""'],
  ['string escapes', { string_val: 'h\u00e9 "q" \\ / \n\t\u0001\u007f\u2028\u{1F600}' }, '"h\u00e9 \\"q\\" \\\\ / \\n\\t\\u0001\u007f\u2028\u{1F600}"'],
  ['int32 min', { int32_val: -2147483648 }, '-2147483648'],
  ['int32 -1', { int32_val: -1 }, '-1'],
  ['int32 0', { int32_val: 0 }, '0'],
  ['int64 min', { int64_val: '-9223372036854775808' }, '-9223372036854775808'],
  ['int64 max', { int64_val: '9223372036854775807' }, '9223372036854775807'],
  ['int64 2^53+1', { int64_val: '9007199254740993' }, '9007199254740993'],
  ['int64 -2^32', { int64_val: '-4294967296' }, '-4294967296'],
  ['double 1.0', { double_val: 1 }, '1.0'],
  ['double 1e16', { double_val: 1e16 }, '1e+16'],
  ['double NaN', { double_val: NaN }, 'null'],
  ['float 0.1 widened', { float_val: 0.1 }, '0.10000000149011612'],
  ['float 0.7037263512611389', { float_val: 0.7037263512611389 }, '0.7037263512611389'],
  ['float 3.4028234663852886e38', { float_val: 3.4028234663852886e38 }, '3.4028234663852886e+38'],
  ['float 1e-5', { float_val: 1e-5 }, '9.999999747378752e-06'],
  ['bool false', { bool_val: false }, 'false'],
  ['bool true', { bool_val: true }, 'true'],
  ['unix_timestamp', { unix_timestamp_val: 1609459200 }, '1609459200'],
  ['unix_timestamp negative', { unix_timestamp_val: '-1' }, '-1'],
  ['bytes_list', { bytes_list_val: { val: [Buffer.from([0, 1]), Buffer.from([255])] } }, '["AAE=","/w=="]'],
  ['string_list', { string_list_val: { val: ['a', '\u00e9', ''] } }, '["a","\u00e9",""]'],
  ['int32_list', { int32_list_val: { val: [-1, 0, 2147483647] } }, '[-1,0,2147483647]'],
  ['int64_list', { int64_list_val: { val: ['9223372036854775807', '-1', '0'] } }, '[9223372036854775807,-1,0]'],
  ['double_list', { double_list_val: { val: [1, 0.5, 1e16, -0] } }, '[1.0,0.5,1e+16,-0.0]'],
  ['float_list', { float_list_val: { val: [0.5, 0.1] } }, '[0.5,0.10000000149011612]'],
  ['bool_list', { bool_list_val: { val: [true, false] } }, '[true,false]'],
  ['unix_timestamp_list', { unix_timestamp_list_val: { val: [1, '-1'] } }, '[1,-1]'],
  ['empty int32_list', { int32_list_val: { val: [] } }, '[]'],
  ['empty bytes_list', { bytes_list_val: {} }, '[]'],
  ['null_val', { null_val: 0 }, 'null'],
  ['unset', {}, 'null'],
  ['map', { map_val: { val: { a: { int64_val: 1 }, b: {}, c: { string_list_val: { val: ['x'] } } } } }, '{"a":1,"b":null,"c":["x"]}'],
  ['empty map', { map_val: {} }, '{}'],
  ['map_list', { map_list_val: { val: [{ val: { a: { bool_val: true } } }, {}] } }, '[{"a":true},{}]'],
  ['bytes_set', { bytes_set_val: { val: [Buffer.from('hi')] } }, '["aGk="]'],
  ['string_set', { string_set_val: { val: ['z', 'a'] } }, '["z","a"]'],
  ['int32_set', { int32_set_val: { val: [3, -3] } }, '[3,-3]'],
  ['int64_set', { int64_set_val: { val: ['10', '-20'] } }, '[10,-20]'],
  ['double_set', { double_set_val: { val: [2.5] } }, '[2.5]'],
  ['float_set', { float_set_val: { val: [1.5] } }, '[1.5]'],
  ['bool_set', { bool_set_val: { val: [false] } }, '[false]'],
  ['unix_timestamp_set', { unix_timestamp_set_val: { val: [1700000000] } }, '[1700000000]'],
  ['json_val (kept as a string, not parsed)', { json_val: '{"foo": 1}' }, '"{\\"foo\\": 1}"'],
  ['json_list', { json_list_val: { val: ['{}', '[1, 2]'] } }, '["{}","[1, 2]"]'],
  ['struct', { struct_val: { val: { n: { double_val: 0.25 } } } }, '{"n":0.25}'],
  ['struct_list', { struct_list_val: { val: [{ val: { n: { int32_val: 1 } } }] } }, '[{"n":1}]'],
  ['uuid', { uuid_val: '123e4567-e89b-12d3-a456-426614174000' }, '"123e4567-e89b-12d3-a456-426614174000"'],
  ['time_uuid', { time_uuid_val: 'c232ab00-9414-11ec-b3c8-9e6bdeced846' }, '"c232ab00-9414-11ec-b3c8-9e6bdeced846"'],
  ['uuid_list', { uuid_list_val: { val: ['a'] } }, '["a"]'],
  ['time_uuid_list', { time_uuid_list_val: { val: ['b'] } }, '["b"]'],
  ['uuid_set', { uuid_set_val: { val: ['c'] } }, '["c"]'],
  ['time_uuid_set', { time_uuid_set_val: { val: ['d'] } }, '["d"]'],
  ['list_val', { list_val: { val: [{ int64_val: 1 }, { string_list_val: { val: ['x'] } }, {}, { list_val: { val: [{ bool_val: true }] } }] } }, '[1,["x"],null,[true]]'],
  ['set_val', { set_val: { val: [{ double_val: 3.14 }, { null_val: 0 }] } }, '[3.14,null]'],
  ['decimal', { decimal_val: '123.4500' }, '"123.4500"'],
  ['decimal_list', { decimal_list_val: { val: ['1.5'] } }, '["1.5"]'],
  ['decimal_set', { decimal_set_val: { val: ['2'] } }, '["2"]'],
  ['scalar_map (Feast returns None)', { scalar_map_val: { val: [{ key: { int64_key: 1 }, value: { string_val: 'one' } }] } }, 'null'],
  ['zoned LA', { zoned_timestamp_val: { unix_timestamp: 1781020800, zone: 'America/Los_Angeles' } }, '"2026-06-09T09:00:00-07:00"'],
  ['zoned no zone', { zoned_timestamp_val: { unix_timestamp: 1781020800 } }, '"2026-06-09T16:00:00+00:00"'],
  ['zoned fixed offset', { zoned_timestamp_val: { unix_timestamp: 1781020800, zone: 'UTC-07:00' } }, '"2026-06-09T09:00:00-07:00"'],
  ['zoned unknown zone → UTC', { zoned_timestamp_val: { unix_timestamp: 0, zone: 'Mars/Olympus' } }, '"1970-01-01T00:00:00+00:00"'],
  ['zoned NaT', { zoned_timestamp_val: { unix_timestamp: '-9223372036854775808', zone: 'UTC' } }, 'null'],
];

describe('valueToJson on protobufjs-built Values (hand-written expectations)', () => {
  for (const [name, obj, expected] of HAND) {
    it(name, () => {
      const bytes = pb(obj);
      assert.equal(json(bytes), expected);
      assert.equal(decodedToJson(decodeValue(bytes)), expected);
      assertAgreesWithProtobufjs(bytes, name);
    });
  }

  it('covers every ValueType', () => {
    const covered = new Set<string>();
    for (const [, obj] of HAND) for (const k of Object.keys(obj)) covered.add(k);
    for (const [name, n] of Object.entries(ValueType)) {
      if (n === 0) continue;
      const field = V.fieldsArray.find((f) => f.id === n);
      assert.ok(field !== undefined, `Value has no field ${n} (${name})`);
      assert.ok(covered.has(field.name), `no hand-written case for ${field.name}`);
    }
  });

  it('works on a sub-range of a larger buffer and on plain Uint8Arrays', () => {
    const inner = pb({ int64_list_val: { val: ['5', '-5'] } });
    const buf = Buffer.concat([Buffer.from([0xff, 0xff]), inner, Buffer.from([0xff])]);
    assert.equal(valueToJson(buf, 2, 2 + inner.length), '[5,-5]');
    const u8 = new Uint8Array(buf);
    assert.equal(valueToJson(u8, 2, 2 + inner.length), '[5,-5]');
    assert.equal(valueToJson(u8, 1, 1), 'null');
    assert.deepStrictEqual(normOurs(decodeValue(u8, 2, 2 + inner.length)), { kind: 'int64_list_val', value: ['5', '-5'] });
  });
});

describe('feast-compat.md §2.2 Value bytes', () => {
  const expected: Record<string, string> = {
    'int64_val: 42': '42',
    'int64_val: -1': '-1',
    'int64_val: 0 (oneof set)': '0',
    'double_val: 0.5': '0.5',
    'float_val: 0.5': '0.5',
    'string_val: "abc"': '"abc"',
    'bool_val: true': 'true',
    'double_list_val: [1.0, 2.0] (packed)': '[1.0,2.0]',
    'null_val: NULL': 'null',
    'unset Value (None)': 'null',
  };
  for (const p of fx.protoBytes) {
    it(p.name, () => {
      assert.equal(json(Buffer.from(p.valueHex, 'hex')), expected[p.name]);
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('decodeValue agrees with protobufjs', () => {
  const W = () => protobuf.Writer.create();
  const wrap = (field: number, inner: Uint8Array): Buffer => {
    const b = W().uint32((field << 3) | 2).bytes(inner).finish();
    return Buffer.from(b);
  };

  it('scalar edge values', () => {
    const cases: Record<string, unknown>[] = [
      { int32_val: 2147483647 }, { int32_val: -2147483648 }, { int32_val: -1 },
      { int64_val: '9223372036854775807' }, { int64_val: '-9223372036854775808' }, { int64_val: 0 },
      { unix_timestamp_val: '-62135596800' }, { double_val: -0 }, { double_val: NaN }, { double_val: Infinity },
      { double_val: 5e-324 }, { float_val: 3.14 }, { float_val: -Infinity }, { float_val: 1.401298464324817e-45 },
      { bool_val: true }, { string_val: '' }, { string_val: '\u0000\u{10FFFF}東京' }, { bytes_val: Buffer.from([0, 255]) },
      { null_val: 0 }, {},
    ];
    for (const c of cases) assertAgreesWithProtobufjs(pb(c), JSON.stringify(c, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
  });

  it('unpacked and mixed packed/unpacked repeated numerics', () => {
    const int32Unpacked = W().uint32(8).int32(-1).uint32(8).int32(7).finish();
    const int64Mixed = W().uint32(8).int64(Long.fromString('-9223372036854775808')).uint32(10).fork().int64(1).int64(Long.fromString('9223372036854775807')).ldelim().finish();
    const doubleUnpacked = W().uint32(9).double(0.5).uint32(9).double(-1e16).finish();
    const floatMixed = W().uint32(13).float(0.1).uint32(10).fork().float(2.5).ldelim().finish();
    const boolUnpacked = W().uint32(8).bool(true).uint32(8).bool(false).finish();
    const cases: [string, Buffer, string][] = [
      ['int32 unpacked', wrap(13, int32Unpacked), '[-1,7]'],
      ['int32_set unpacked', wrap(24, int32Unpacked), '[-1,7]'],
      ['int64 mixed', wrap(14, int64Mixed), '[-9223372036854775808,1,9223372036854775807]'],
      ['unix_timestamp_list mixed', wrap(18, int64Mixed), '[-9223372036854775808,1,9223372036854775807]'],
      ['double unpacked', wrap(15, doubleUnpacked), '[0.5,-1e+16]'],
      ['float mixed', wrap(16, floatMixed), '[0.10000000149011612,2.5]'],
      ['bool unpacked', wrap(17, boolUnpacked), '[true,false]'],
      ['bool_set unpacked', wrap(28, boolUnpacked), '[true,false]'],
    ];
    for (const [name, bytes, expected] of cases) {
      assertAgreesWithProtobufjs(bytes, name);
      assert.equal(json(bytes), expected, name);
    }
  });

  it('random scalar and list Values', () => {
    const rnd = (n: number) => Math.floor(random() * n);
    const rInt32 = () => (random() * 2 ** 32 - 2 ** 31) | 0;
    const rInt64 = () => BigInt.asIntN(64, (BigInt(rnd(2 ** 32)) << 32n) | BigInt(rnd(2 ** 32))).toString();
    const rDouble = () => {
      const dv = new DataView(new ArrayBuffer(8));
      dv.setUint32(0, rnd(2 ** 32));
      dv.setUint32(4, rnd(2 ** 32));
      return random() < 0.5 ? dv.getFloat64(0) : (random() - 0.5) * 10 ** rnd(20);
    };
    const rStr = () => Array.from({ length: rnd(6) }, () => ['a', 'é', '東', '😀', '"', '\n', '\\', '\u0001'][rnd(8)]).join('');
    const rBytes = () => Buffer.from(Array.from({ length: rnd(5) }, () => rnd(256)));
    const gens: [string, () => unknown, boolean][] = [
      ['int32_val', rInt32, false], ['int64_val', rInt64, false], ['double_val', rDouble, false], ['float_val', rDouble, false],
      ['bool_val', () => random() < 0.5, false], ['string_val', rStr, false], ['bytes_val', rBytes, false],
      ['unix_timestamp_val', rInt64, false], ['json_val', rStr, false], ['decimal_val', rStr, false],
      ['int32_list_val', rInt32, true], ['int64_list_val', rInt64, true], ['double_list_val', rDouble, true],
      ['float_list_val', rDouble, true], ['bool_list_val', () => random() < 0.5, true], ['string_list_val', rStr, true],
      ['bytes_list_val', rBytes, true], ['int64_set_val', rInt64, true], ['float_set_val', rDouble, true],
      ['uuid_list_val', rStr, true], ['unix_timestamp_set_val', rInt64, true],
    ];
    for (let i = 0; i < 2000; i++) {
      const [kind, gen, list] = gens[rnd(gens.length)]!;
      const obj = list ? { [kind]: { val: Array.from({ length: rnd(5) }, gen) } } : { [kind]: gen() };
      const bytes = pb(obj);
      assertAgreesWithProtobufjs(bytes, `${kind} ${hexOf(bytes)}`);
      assert.equal(json(bytes), decodedToJson(decodeValue(bytes)), `${kind} ${hexOf(bytes)}`);
    }
  });
});

describe('non-canonical but valid encodings (protobuf merge rules)', () => {
  const cases: [string, string, string][] = [
    ['two oneof members: the last wins', '202a' + '1203616263', '"abc"'],
    ['a scalar after a list: the last wins', '72020801' + '202a', '42'],
    ['a repeated list field concatenates', '7203' + '0a0101' + '7203' + '0a0102', '[1,2]'],
    ['two map_val fields merge', 'a20109' + '0a070a016112022001' + 'a20109' + '0a070a016212022002', '{"a":1,"b":2}'],
    ['map entry with value before key', 'a20109' + '0a07' + '12022001' + '0a0161', '{"a":1}'],
    ['duplicate map key: the later entry wins', 'a20112' + '0a070a016112022001' + '0a070a016112022002', '{"a":2}'],
    ['map entry without key or value', 'a20102' + '0a00', '{"":null}'],
    ['zoned_timestamp_val split over two fields', '8203' + '02' + '0801' + '8203' + '05' + '1203555443', '"1970-01-01T00:00:01+00:00"'],
    ['nested Value with two fields inside list_val', 'd20206' + '0a04' + '2001' + '3801', '[true]'],
  ];
  for (const [name, hex, expected] of cases) {
    it(name, () => {
      const bytes = Buffer.from(hex, 'hex');
      assert.equal(json(bytes), expected);
      assert.equal(decodedToJson(decodeValue(bytes)), expected);
    });
  }
});

describe('malformed Values throw PlatterError INTERNAL', () => {
  const cases: [string, string, string][] = [
    ['truncated varint', '20', 'truncated'],
    ['length past the end', '120561', 'past the end'],
    ['unknown field 9', '4801', 'field 9'],
    ['unknown field 49', '8803' + '01', 'field 49'],
    ['wrong wire type for int32', '1a00', 'wire type 2'],
    ['wrong wire type for string', '1001', 'wire type 0'],
    ['invalid UTF-8', '1201ff', 'UTF-8'],
    ['invalid UTF-8 in a list', '62030a01c3', 'UTF-8'],
    ['packed doubles not a multiple of 8', '7a090a07' + '00'.repeat(7), 'multiple of 8'],
    ['unknown field inside Int64List', '72021001', 'Int64List'],
    ['unknown field inside Map', 'a201021001', 'Map'],
    ['wire type 3 (group)', '0b', 'wire type'],
    ['truncated double', '290000', 'truncated'],
    ['varint longer than 10 bytes', '20ffffffffffffffffffff01', 'varint'],
  ];
  for (const [name, hex, mention] of cases) {
    it(name, () => {
      const bytes = Buffer.from(hex, 'hex');
      const check = (e: unknown) => {
        assert.ok(isInternal(e), `expected PlatterError INTERNAL, got ${String(e)}`);
        assert.ok((e as Error).message.includes(mention), `"${(e as Error).message}" should mention ${mention}`);
        return true;
      };
      assert.throws(() => json(bytes), check);
      assert.throws(() => decodeValue(bytes), check);
    });
  }

  it('rejects a range outside the buffer', () => {
    assert.throws(() => valueToJson(Buffer.from('2001', 'hex'), 0, 5), isInternal);
    assert.throws(() => decodeValue(Buffer.from('2001', 'hex'), 1, 0), isInternal);
  });

  it('leaves the decoder usable after an error', () => {
    assert.throws(() => json(Buffer.from('20', 'hex')));
    assert.equal(json(Buffer.from('202a', 'hex')), '42');
  });
});

describe('isNullValue', () => {
  const cases: [string, boolean][] = [
    ['', true], ['980100', true], ['980101', true], ['2000', false], ['1200', false], ['7200', false],
    ['202a980100', true], ['980100202a', false], ['a20100', false],
  ];
  for (const [hex, expected] of cases) {
    it(`${hex || '(empty)'} → ${expected}`, () => {
      const b = Buffer.from(hex, 'hex');
      assert.equal(isNullValue(b, 0, b.length), expected);
    });
  }
  it('reads only its range', () => {
    const b = Buffer.from('202a980100', 'hex');
    assert.equal(isNullValue(b, 2, 5), true);
    assert.equal(isNullValue(b, 0, 2), false);
    assert.equal(isNullValue(b, 3, 3), true);
  });
  it('throws on unknown fields', () => {
    assert.throws(() => isNullValue(Buffer.from('4801', 'hex'), 0, 2), isInternal);
  });
});

// ---------------------------------------------------------------------------------------------

describe('encodeValue', () => {
  it('reproduces the feast-compat.md §2.2 Value bytes', () => {
    const cases: [number, unknown, string][] = [
      [ValueType.INT64, 42n, '202a'],
      [ValueType.INT64, -1, '20ffffffffffffffffff01'],
      [ValueType.INT64, 0, '2000'],
      [ValueType.DOUBLE, 0.5, '29000000000000e03f'],
      [ValueType.FLOAT, 0.5, '350000003f'],
      [ValueType.STRING, 'abc', '1203616263'],
      [ValueType.BOOL, true, '3801'],
      [ValueType.DOUBLE_LIST, [1, 2], '7a120a10000000000000f03f0000000000000040'],
      [ValueType.NULL, null, ''],
      [ValueType.INT64, undefined, ''],
    ];
    for (const [t, v, hex] of cases) assert.equal(encodeValue(t as never, v).toString('hex'), hex, `${t} ${String(v)}`);
    assert.equal(encodeNullValue().toString('hex'), '980100');
    assert.equal(encodeValue(ValueType.NULL, 'anything').toString('hex'), '980100');
  });

  it('matches the bytes Feast wrote for its own fixtures', () => {
    // docs/specs/online_store_format.md: float_val 0.9273980259895325 → 35f5696d3f
    assert.equal(encodeValue(ValueType.FLOAT, 0.9273980259895325).toString('hex'), '35f5696d3f');
    for (const v of fx.vectors.filter((x) => x.name === 'int64 max' || x.name === 'string hello feast')) {
      const value = v.name === 'int64 max' ? 9223372036854775807n : 'hello feast';
      const type = v.name === 'int64 max' ? ValueType.INT64 : ValueType.STRING;
      assert.equal(encodeValue(type, value).toString('hex'), v.valueHex);
    }
  });

  it('encodes every type so that valueToJson prints the expected JSON', () => {
    const cases: [number, unknown, string][] = [
      [ValueType.BYTES, Buffer.from([1, 2]), '"AQI="'],
      [ValueType.BYTES, 'hi', '"aGk="'],
      [ValueType.STRING, 'é', '"é"'],
      [ValueType.INT32, -7, '-7'],
      [ValueType.INT64, '-9223372036854775808', '-9223372036854775808'],
      [ValueType.DOUBLE, 1, '1.0'],
      [ValueType.FLOAT, 0.1, '0.10000000149011612'],
      [ValueType.BOOL, false, 'false'],
      [ValueType.UNIX_TIMESTAMP, new Date('2021-01-01T00:00:00.900Z'), '1609459200'],
      [ValueType.UNIX_TIMESTAMP, 5n, '5'],
      [ValueType.BYTES_LIST, [Buffer.from([0])], '["AA=="]'],
      [ValueType.STRING_LIST, ['a', 'b'], '["a","b"]'],
      [ValueType.INT32_LIST, [1, -1], '[1,-1]'],
      [ValueType.INT64_LIST, [2n ** 62n, -1], '[4611686018427387904,-1]'],
      [ValueType.DOUBLE_LIST, [0.5], '[0.5]'],
      [ValueType.FLOAT_LIST, [], '[]'],
      [ValueType.BOOL_LIST, [true], '[true]'],
      [ValueType.UNIX_TIMESTAMP_LIST, [1, new Date(2000)], '[1,2]'],
      [ValueType.MAP, { a: 1, b: 'x', c: null, d: [1.5], e: { f: true } }, '{"a":1,"b":"x","c":null,"d":[1.5],"e":{"f":true}}'],
      [ValueType.MAP, new Map([['k', typed(ValueType.INT32, 3)]]), '{"k":3}'],
      [ValueType.MAP_LIST, [{ a: 1 }, {}], '[{"a":1},{}]'],
      [ValueType.BYTES_SET, new Set([Buffer.from('z')]), '["eg=="]'],
      [ValueType.STRING_SET, new Set(['x']), '["x"]'],
      [ValueType.INT32_SET, [1], '[1]'],
      [ValueType.INT64_SET, [1n], '[1]'],
      [ValueType.DOUBLE_SET, [2], '[2.0]'],
      [ValueType.FLOAT_SET, [2], '[2.0]'],
      [ValueType.BOOL_SET, [false], '[false]'],
      [ValueType.UNIX_TIMESTAMP_SET, [3], '[3]'],
      [ValueType.JSON, '{"a": 1}', '"{\\"a\\": 1}"'],
      [ValueType.JSON, { a: [1, 2.5], b: 'é' }, '"{\\"a\\": [1, 2.5], \\"b\\": \\"\\\\u00e9\\"}"'],
      [ValueType.JSON_LIST, ['[]', { x: null }], '["[]","{\\"x\\": null}"]'],
      [ValueType.STRUCT, { s: 'v' }, '{"s":"v"}'],
      [ValueType.STRUCT_LIST, [{ s: 1 }], '[{"s":1}]'],
      [ValueType.UUID, 'u', '"u"'],
      [ValueType.TIME_UUID, 't', '"t"'],
      [ValueType.UUID_LIST, ['u'], '["u"]'],
      [ValueType.TIME_UUID_LIST, ['t'], '["t"]'],
      [ValueType.UUID_SET, ['u'], '["u"]'],
      [ValueType.TIME_UUID_SET, ['t'], '["t"]'],
      [ValueType.VALUE_LIST, [[1, 2], ['a'], null, typed(ValueType.FLOAT_LIST, [])], '[[1,2],["a"],null,[]]'],
      [ValueType.VALUE_SET, [[true]], '[[true]]'],
      [ValueType.DECIMAL, '1.50', '"1.50"'],
      [ValueType.DECIMAL, 2n, '"2"'],
      [ValueType.DECIMAL_LIST, ['1', 2.5], '["1","2.5"]'],
      [ValueType.DECIMAL_SET, ['3'], '["3"]'],
      [ValueType.SCALAR_MAP, new Map<unknown, unknown>([[1, 'one'], [true, 2]]), 'null'],
      [ValueType.ZONED_TIMESTAMP, { seconds: 1781020800, zone: 'America/Los_Angeles' }, '"2026-06-09T09:00:00-07:00"'],
      [ValueType.ZONED_TIMESTAMP, new Date(0), '"1970-01-01T00:00:00+00:00"'],
    ];
    for (const [t, v, expected] of cases) {
      const bytes = encodeValue(t as never, v);
      assert.equal(json(bytes), expected, `type ${t}`);
      assertAgreesWithProtobufjs(bytes, `type ${t}`);
    }
  });

  it('encodes SCALAR_MAP keys as Feast does (int → int64_key, bool → bool_key)', () => {
    const d = decodeValue(encodeValue(ValueType.SCALAR_MAP, new Map<unknown, unknown>([[1, 'one'], [true, 2], [{ int32_key: 5 }, null]])));
    assert.equal(d.kind, 'scalar_map_val');
    assert.deepStrictEqual(normOurs(d), {
      kind: 'scalar_map_val',
      value: [
        { key: { kind: 'int64_key', value: '1' }, value: { kind: 'string_val', value: 'one' } },
        { key: { kind: 'bool_key', value: true }, value: { kind: 'int64_val', value: '2' } },
        { key: { kind: 'int32_key', value: 5 }, value: { kind: 'unset', value: null } },
      ],
    });
  });

  it('rejects values that do not fit the declared type', () => {
    const bad: [number, unknown][] = [
      [ValueType.INT32, 2 ** 31], [ValueType.INT32, 1.5], [ValueType.INT64, 1.5], [ValueType.INT64, 2n ** 63n],
      [ValueType.INT64, 2 ** 60], [ValueType.STRING, 5], [ValueType.BOOL, 1], [ValueType.DOUBLE, '1'],
      [ValueType.INT64_LIST, [1, null]], [ValueType.MAP, [1]], [ValueType.JSON, '{bad'], [ValueType.VALUE_LIST, [[]]],
      [ValueType.INVALID, 1], [ValueType.STRING, 'a\uD800'],
    ];
    for (const [t, v] of bad) {
      assert.throws(() => encodeValue(t as never, v), (e: unknown) => e instanceof PlatterError && e.code === 'INVALID_ARGUMENT', `type ${t}`);
    }
  });

  it('pyJsonDumps follows Python json.dumps defaults', () => {
    assert.equal(pyJsonDumps({ a: [1, 2.5, 1e16, true, null], 'é': '\u007f\n😀' }), '{"a": [1, 2.5, 10000000000000000, true, null], "\\u00e9": "\\u007f\\n\\ud83d\\ude00"}');
    assert.equal(pyJsonDumps(NaN), 'NaN');
    assert.equal(pyJsonDumps(0.1), '0.1');
  });
});
