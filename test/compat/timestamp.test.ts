/**
 * google.protobuf.Timestamp bytes and Feast's RFC 3339 rendering.
 *
 * Feast sources (commit f0bc0700be7029166e6605e407de6d229cd1e93e):
 * - sdk/python/feast/feature_server_utils.py (_timestamp_to_str)
 * - sdk/python/tests/unit/test_feature_server_utils.py (TestTimestampToStr)
 * - sdk/python/feast/infra/online_stores/redis.py (_get_features_for_entity: `_ts:` values)
 * - sdk/python/tests/unit/infra/online_store/test_redis.py (empty Timestamp as `_ts:` value)
 * Vectors: test/fixtures/feast-vectors/timestamps.json.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PlatterError } from '../../src/errors.js';
import { decodeTimestamp, encodeTimestamp, formatRfc3339 } from '../../src/encoding/timestamp.js';
import { mulberry32 } from '../helpers/prng.js';

interface TsVector {
  seconds: number;
  nanos: number;
  bytesHex: string;
  rfc3339: string;
  protobufToJsonString?: string;
  platterExpected?: string;
  source: string;
  method: string;
}

const fx = JSON.parse(
  readFileSync(new URL('../fixtures/feast-vectors/timestamps.json', import.meta.url), 'utf8'),
) as { vectors: TsVector[] };

const isInternal = (e: unknown) => e instanceof PlatterError && e.code === 'INTERNAL';

const random = mulberry32(0x5eed0001);

describe('timestamps match Feast vectors', () => {
  for (const v of fx.vectors) {
    it(`${v.seconds}s ${v.nanos}ns — ${v.source}`, () => {
      const bytes = Buffer.from(v.bytesHex, 'hex');
      assert.deepEqual(decodeTimestamp(bytes), { seconds: v.seconds, nanos: v.nanos });
      assert.equal(encodeTimestamp(v.seconds, v.nanos).toString('hex'), v.bytesHex);
      assert.equal(formatRfc3339(v.seconds, v.nanos), v.platterExpected ?? v.rfc3339);
    });
  }
});

describe('decodeTimestamp', () => {
  it('reads a sub-range of a larger buffer', () => {
    const inner = encodeTimestamp(1609459200, 123456000);
    const buf = Buffer.concat([Buffer.from('xx'), inner, Buffer.from('yy')]);
    assert.deepEqual(decodeTimestamp(buf, 2, 2 + inner.length), { seconds: 1609459200, nanos: 123456000 });
  });

  it('accepts seconds only (Feast < 0.59), nanos only and empty', () => {
    assert.deepEqual(decodeTimestamp(Buffer.from('088081c8ac06', 'hex')), { seconds: 1704067200, nanos: 0 });
    assert.deepEqual(decodeTimestamp(Buffer.from('1001', 'hex')), { seconds: 0, nanos: 1 });
    assert.deepEqual(decodeTimestamp(Buffer.alloc(0)), { seconds: 0, nanos: 0 });
  });

  it('skips unknown fields and lets a repeated field win last', () => {
    // field 3 varint, field 4 length-delimited, field 5 fixed32, field 6 fixed64, then seconds twice
    const buf = Buffer.from('1801' + '22026869' + '2d01020304' + '310102030405060708' + '0801' + '0802', 'hex');
    assert.deepEqual(decodeTimestamp(buf), { seconds: 2, nanos: 0 });
  });

  it('reads negative nanos (10-byte varint) as int32', () => {
    assert.deepEqual(decodeTimestamp(Buffer.from('10ffffffffffffffffff01', 'hex')), { seconds: 0, nanos: -1 });
  });

  it('throws INTERNAL on malformed bytes', () => {
    for (const hex of ['08', '0880', '08ffffffffffffffffffff01', '0a0100', '0d00000000', '12', '2205', '0f', '0001']) {
      assert.throws(() => decodeTimestamp(Buffer.from(hex, 'hex')), isInternal, hex);
    }
  });
});

describe('encodeTimestamp', () => {
  it('omits zero fields like protobuf', () => {
    assert.equal(encodeTimestamp(0, 0).length, 0);
    assert.equal(encodeTimestamp(0, 5).toString('hex'), '1005');
  });
  it('rejects non-integers', () => {
    assert.throws(() => encodeTimestamp(1.5), PlatterError);
    assert.throws(() => encodeTimestamp(1, 2 ** 31), PlatterError);
  });
});

describe('formatRfc3339', () => {
  it('uses the fewest of 0/3/6/9 fraction digits that is exact', () => {
    assert.equal(formatRfc3339(0, 0), '1970-01-01T00:00:00Z');
    assert.equal(formatRfc3339(1, 1_000_000), '1970-01-01T00:00:01.001Z');
    assert.equal(formatRfc3339(1, 1_001_000), '1970-01-01T00:00:01.001001Z');
    assert.equal(formatRfc3339(1, 1_000_001), '1970-01-01T00:00:01.001000001Z');
    assert.equal(formatRfc3339(1, 100), '1970-01-01T00:00:01.000000100Z');
  });

  it('agrees with Date#toISOString on whole seconds across the range', () => {
    for (let i = 0; i < 2000; i++) {
      const s = Math.floor(-62135596800 + random() * (253402300799 + 62135596800));
      const iso = new Date(s * 1000).toISOString().replace('.000Z', 'Z');
      assert.equal(formatRfc3339(s, 0), iso, `seconds ${s}`);
    }
  });

  it('throws INTERNAL outside years 0001..9999 and for invalid nanos', () => {
    assert.throws(() => formatRfc3339(253402300800, 0), isInternal);
    assert.throws(() => formatRfc3339(-62135596801, 0), isInternal);
    assert.throws(() => formatRfc3339(0, -1), isInternal);
    assert.throws(() => formatRfc3339(0, 1_000_000_000), isInternal);
  });
});
