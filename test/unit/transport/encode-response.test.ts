// The gRPC response writer copies a column's statuses and timestamps from the previous column
// when every row matches. Decoded by protobufjs from our protos (wire-identical to Feast's
// ServingService.proto, test/compat/protos.test.ts), every column must carry its own values,
// statuses and timestamps, whichever path wrote them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOnlineFeaturesResponse } from '../../../src/transport/grpc/encode-response.js';
import { encodeValue } from '../../../src/encoding/value-encode.js';
import { ValueType } from '../../../src/encoding/value-type.js';
import { protoType } from '../../../src/proto/root.js';
import { handResult } from '../../helpers/feature-result.js';

interface Column {
  values: (number | null)[];
  statuses: number[];
  ts: [number, number][];
}

/** The same columns with INT64 Value bytes, entity ids from 1. */
const result = (columns: Column[], n: number) =>
  handResult(
    columns.map((c) => ({ ...c, values: c.values.map((v) => (v === null ? null : encodeValue(ValueType.INT64, v))) })),
    n,
    1,
  );

test('every column decodes to its own values, statuses and timestamps (copied tails included)', () => {
  const n = 3;
  const same: [number, number][] = [[100, 0], [0, 0], [300, 7]];
  const cols: Column[] = [
    { values: [1, null, 3], statuses: [1, 3, 1], ts: same },
    { values: [4, null, 6], statuses: [1, 3, 1], ts: same }, // tail copied
    { values: [7, null, null], statuses: [1, 3, 2], ts: same }, // a status differs
    { values: [7, null, null], statuses: [1, 3, 2], ts: [[100, 0], [0, 0], [300, 8]] }, // nanos differ
    { values: [9, 9, 9], statuses: [4, 4, 4], ts: [[2 ** 33, 0], [1, 0], [1, 999_999_999]] },
    { values: [9, 9, 9], statuses: [4, 4, 4], ts: [[2 ** 33, 0], [1, 0], [1, 999_999_999]] }, // copied
  ];
  const Response = protoType('feast.serving.GetOnlineFeaturesResponse');
  const decoded = Response.toObject(Response.decode(encodeOnlineFeaturesResponse(result(cols, n))), { longs: Number, enums: Number, defaults: true });
  assert.deepEqual(decoded.metadata.feature_names.val, ['id', ...cols.map((_, f) => `f${f}`)]);
  assert.equal(decoded.results.length, cols.length + 1);
  assert.deepEqual(decoded.results[0].values.map((v: { int64_val?: number }) => v.int64_val), [1, 2, 3]);
  cols.forEach((c, f) => {
    const got = decoded.results[f + 1];
    assert.deepEqual(
      got.values.map((v: { int64_val?: number }) => v.int64_val ?? null),
      c.values.map((v) => v ?? null),
      `column ${f} values`,
    );
    assert.deepEqual(got.statuses, c.statuses, `column ${f} statuses`);
    assert.deepEqual(
      got.event_timestamps.map((t: { seconds: number; nanos: number }) => [t.seconds, t.nanos]),
      c.ts,
      `column ${f} timestamps`,
    );
  });
});
