// The HTTP renderer writes bytes itself: integers straight from their varint, and a column's
// statuses/timestamps copied from the previous column when they match. Its output must be exactly
// what `valueToJson` (checked against Feast's `_value_to_native` vectors in test/compat) and
// `formatRfc3339` print, column by column, whichever path each piece took.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderOnlineFeaturesJson } from '../../../src/transport/http/render-json.js';
import { encodeValue } from '../../../src/encoding/value-encode.js';
import { ValueType } from '../../../src/encoding/value-type.js';
import { valueToJson } from '../../../src/encoding/value-json.js';
import { formatRfc3339 } from '../../../src/encoding/timestamp.js';
import { FIELD_STATUS_NAMES, FieldStatus } from '../../../src/serving/types.js';
import { handResult, type HandColumn } from '../../helpers/feature-result.js';

const ints = [0, 1, 9, 10, 99, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 49 - 1, 2 ** 49, 2 ** 53 - 1, -1, -(2 ** 31), -(2 ** 53 - 1)];
const bigs = [2n ** 63n - 1n, -(2n ** 63n)];

type Column = HandColumn;
const result = handResult;

/** The exact response text, assembled from valueToJson / formatRfc3339 piece by piece. */
function expected(columns: Column[], n: number): string {
  const list = (xs: string[]) => `[${xs.join(',')}]`;
  const rows = Array.from({ length: n }, (_, r) => r);
  const entity = `{"values":${list(rows.map(String))},"statuses":${list(rows.map(() => '"PRESENT"'))},"event_timestamps":${list(rows.map(() => '"1970-01-01T00:00:00Z"'))}}`;
  const features = columns.map(
    (c) =>
      `{"values":${list(c.values.map((v) => (v === null ? 'null' : valueToJson(v, 0, v.length))))},` +
      `"statuses":${list(c.statuses.map((s) => `"${FIELD_STATUS_NAMES[s]}"`))},` +
      `"event_timestamps":${list(c.ts.map(([s, ns]) => `"${formatRfc3339(s, ns)}"`))}}`,
  );
  const names = ['id', ...columns.map((_, f) => `f${f}`)].map((x) => `"${x}"`);
  return `{"results":${list([entity, ...features])},"metadata":{"feature_names":${list(names)}}}`;
}

test('integer Values print exactly as valueToJson prints them, on and off the fast path', () => {
  const values = [
    ...ints.map((v) => encodeValue(ValueType.INT64, v)),
    ...bigs.map((v) => encodeValue(ValueType.INT64, v)),
    ...[0, 5, 2 ** 31 - 1, -1, -(2 ** 31)].map((v) => encodeValue(ValueType.INT32, v)),
    // int32_val carried as a 5-byte varint >= 2^31: protobuf keeps the low 32 bits, signed.
    Buffer.from([0x18, 0x80, 0x80, 0x80, 0x80, 0x08]),
    // int64_val followed by a second field: not the one-field fast path.
    Buffer.concat([encodeValue(ValueType.INT64, 7), encodeValue(ValueType.BOOL, true)]),
    encodeValue(ValueType.DOUBLE, 0.1),
    encodeValue(ValueType.STRING, 'a"b\n'),
    encodeValue(ValueType.BOOL, false),
    Buffer.alloc(0),
  ];
  const n = values.length;
  const cols = [{ values, statuses: values.map(() => FieldStatus.PRESENT), ts: values.map((): [number, number] => [1_700_000_000, 5]) }];
  assert.equal(renderOnlineFeaturesJson(result(cols, n)).toString('utf8'), expected(cols, n));
});

test('a column whose statuses and timestamps differ from the previous column is rendered, not copied', () => {
  const n = 4;
  const v = (x: number) => encodeValue(ValueType.INT64, x);
  const same: [number, number][] = [[100, 0], [200, 0], [0, 0], [300, 7]];
  const cols: Column[] = [
    { values: [v(1), v(2), null, v(3)], statuses: [1, 1, 3, 1], ts: same },
    { values: [v(4), v(5), null, v(6)], statuses: [1, 1, 3, 1], ts: same }, // copied
    { values: [v(7), null, null, v(8)], statuses: [1, 2, 3, 1], ts: same }, // status differs
    { values: [v(7), null, null, v(8)], statuses: [1, 2, 3, 1], ts: [[100, 0], [200, 0], [0, 0], [300, 8]] }, // nanos differ
    { values: [v(9), v(9), v(9), v(9)], statuses: [4, 4, 4, 4], ts: [[1, 0], [1, 0], [1, 0], [1, 0]] },
    { values: [v(9), v(9), v(9), v(9)], statuses: [4, 4, 4, 4], ts: [[1, 0], [1, 0], [1, 0], [1, 0]] }, // copied
  ];
  assert.equal(renderOnlineFeaturesJson(result(cols, n)).toString('utf8'), expected(cols, n));
});

test('a response larger than the reused buffer grows it and stays intact', () => {
  const n = 1000;
  const big = encodeValue(ValueType.STRING, 'x'.repeat(500));
  const cols = Array.from({ length: 3 }, (_, f) => ({
    values: Array.from({ length: n }, (_, r) => (r % 7 === 0 ? encodeValue(ValueType.INT64, r * f) : big)),
    statuses: Array(n).fill(FieldStatus.PRESENT),
    ts: Array.from({ length: n }, (_, r): [number, number] => [1_600_000_000 + r, r]),
  }));
  assert.equal(renderOnlineFeaturesJson(result(cols, n)).toString('utf8'), expected(cols, n));
});
