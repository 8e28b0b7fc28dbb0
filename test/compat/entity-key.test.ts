/**
 * Entity-key serialization against Feast.
 *
 * Feast sources (commit f0bc0700be7029166e6605e407de6d229cd1e93e):
 * - sdk/python/feast/infra/key_encoding_utils.py (serialize_entity_key, _serialize_val)
 * - go/internal/feast/onlinestore/onlinestore_test.go (Test_serializeEntityKey golden bytes)
 * - sdk/python/tests/unit/infra/test_key_encoding_utils.py (test_serialize_value, key sets)
 * - sdk/python/tests/unit/infra/online_store/test_redis.py (test_generate_entity_redis_keys)
 * - docs/specs/online_store_format.md (v1 example row)
 * Vectors: test/fixtures/feast-vectors/entity-keys.json (each names its source).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  createEntityKeyEncoder,
  type EntityKeyVersion,
  type EntityScalar,
  serializeEntityKey,
} from '../../src/encoding/entity-key.js';
import { PlatterError } from '../../src/errors.js';

interface RawValue {
  type: number;
  value: string | number;
}
interface KeyVector {
  name: string;
  version: EntityKeyVersion;
  joinKeys: string[];
  values: RawValue[];
  hex?: string;
  feastError?: string;
  source: string;
  feastCommit: string;
  method: string;
}
interface PayloadVector {
  name: string;
  value: RawValue;
  typeTag: number;
  payloadHex: string;
  source: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/feast-vectors/entity-keys.json', import.meta.url), 'utf8'),
) as { vectors: KeyVector[]; valuePayloads: PayloadVector[] };

/** Fixture value → EntityScalar; int64 as bigint, or as number when `asNumber` and safe. */
function scalar(v: RawValue, asNumber = false): EntityScalar {
  switch (v.type) {
    case 1:
      return { type: 1, value: Buffer.from(String(v.value), 'hex') };
    case 2:
      return { type: 2, value: String(v.value) };
    case 3:
      return { type: 3, value: Number(v.value) };
    case 4:
    case 8: {
      const b = BigInt(v.value);
      const value = asNumber && Number.isSafeInteger(Number(b)) ? Number(b) : b;
      return v.type === 4 ? { type: 4, value } : { type: 8, value };
    }
    default:
      throw new Error(`fixture type ${v.type}`);
  }
}

function assertEntityError(fn: () => unknown, ...mustMention: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PlatterError, `expected PlatterError, got ${String(e)}`);
    assert.equal(e.code, 'ENTITY_VALUE_INVALID');
    for (const m of mustMention) assert.ok(e.message.includes(m), `message "${e.message}" should mention ${m}`);
    return true;
  });
}

describe('serializeEntityKey matches Feast vectors', () => {
  for (const v of fixture.vectors) {
    it(`${v.name} (v${v.version}) — ${v.method}: ${v.source}`, () => {
      for (const asNumber of [false, true]) {
        const values = v.values.map((x) => scalar(x, asNumber));
        if (v.feastError !== undefined) {
          assertEntityError(() => serializeEntityKey(v.joinKeys, values, v.version), v.joinKeys[0]!);
          assertEntityError(() => createEntityKeyEncoder(v.joinKeys, v.version).encode(values));
          continue;
        }
        const got = serializeEntityKey(v.joinKeys, values, v.version);
        assert.equal(got.toString('hex'), v.hex);
        const enc = createEntityKeyEncoder(v.joinKeys, v.version);
        assert.equal(enc.encode(values).toString('hex'), v.hex);
        const suffix = Buffer.from('proj_é');
        assert.equal(enc.encode(values, suffix).toString('hex'), v.hex + suffix.toString('hex'));
      }
    });
  }

  it('covers the required shapes', () => {
    const names = fixture.vectors.map((v) => v.name).join('\n');
    for (const s of ['compound', 'int32', 'string', '-1', 'v1 out of range', 'empty entity key', 'Go golden']) {
      assert.ok(names.includes(s), `fixture lacks a "${s}" vector`);
    }
    assert.ok(fixture.vectors.some((v) => v.version === 1 && v.hex !== undefined && v.values[0]?.type === 4));
  });

  for (const p of fixture.valuePayloads) {
    it(`value payload ${p.name} — ${p.source}`, () => {
      const got = serializeEntityKey(['k'], [scalar(p.value)], 3);
      const tail = Buffer.alloc(8);
      tail.writeUInt32LE(p.typeTag, 0);
      tail.writeUInt32LE(p.payloadHex.length / 2, 4);
      assert.ok(
        got.toString('hex').endsWith(tail.toString('hex') + p.payloadHex),
        `${got.toString('hex')} should end with type/len/payload ${p.payloadHex}`,
      );
    });
  }
});

describe('entity key rules', () => {
  it('empty join keys: v3 is 00000000, v1/v2 are empty', () => {
    assert.equal(serializeEntityKey([], [], 3).toString('hex'), '00000000');
    assert.equal(serializeEntityKey([], [], 2).length, 0);
    assert.equal(createEntityKeyEncoder([], 3).encode([], Buffer.from('p')).toString('hex'), '0000000070');
  });

  it('sorts by code point (UTF-8 byte order), not UTF-16 units', () => {
    const enc = createEntityKeyEncoder(['\u{1F600}', '\uFF5E'], 3);
    const out = enc.encode([
      { type: 3, value: 1 },
      { type: 3, value: 2 },
    ]);
    // U+FF5E (ef bd be) comes first, so its value 2 is the first value entry
    const hex = out.toString('hex');
    assert.ok(hex.indexOf('efbdbe') < hex.indexOf('f09f9880'));
    assert.ok(hex.endsWith('030000000400000002000000' + '030000000400000001000000'));
  });

  it('the precompiled encoder equals serializeEntityKey and returns fresh buffers', () => {
    const keys = ['driver_id', 'customer_id', 'zone'];
    const enc = createEntityKeyEncoder(keys, 3);
    const rows: EntityScalar[][] = [
      [{ type: 4, value: 1n }, { type: 2, value: 'a' }, { type: 3, value: -5 }],
      [{ type: 4, value: -9223372036854775808n }, { type: 2, value: 'Zürich 東京' }, { type: 3, value: 2147483647 }],
      [{ type: 4, value: Number.MAX_SAFE_INTEGER }, { type: 2, value: 'x'.repeat(300) }, { type: 3, value: 0 }],
    ];
    const outs = rows.map((r) => enc.encode(r));
    rows.forEach((r, i) => assert.deepEqual(outs[i], serializeEntityKey(keys, r, 3)));
    assert.notEqual(outs[0]!.toString('hex'), outs[1]!.toString('hex'));
    assert.deepEqual(enc.joinKeys, keys);
  });

  it('int64 given as a safe number and as a bigint encode the same', () => {
    for (const n of [0, 1, -1, 2 ** 32, -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      assert.deepEqual(
        serializeEntityKey(['id'], [{ type: 4, value: n }], 3),
        serializeEntityKey(['id'], [{ type: 4, value: BigInt(n) }], 3),
        `value ${n}`,
      );
    }
  });

  it('rejects values that do not fit, naming the join key and the value', () => {
    assertEntityError(() => serializeEntityKey(['store_id'], [{ type: 3, value: 2 ** 31 }], 3), 'store_id', '2147483648');
    assertEntityError(() => serializeEntityKey(['store_id'], [{ type: 3, value: 1.5 }], 3), 'store_id', '1.5');
    assertEntityError(() => serializeEntityKey(['id'], [{ type: 4, value: 2 ** 53 }], 3), 'id', '9007199254740992');
    assertEntityError(() => serializeEntityKey(['id'], [{ type: 4, value: 2n ** 63n }], 3), 'id', '9223372036854775808');
    assertEntityError(() => serializeEntityKey(['id'], [{ type: 4, value: 2n ** 31n }], 1), 'id', '2147483648');
    assertEntityError(() => serializeEntityKey(['s'], [{ type: 2, value: 7 as unknown as string }], 3), 's');
    assertEntityError(() => serializeEntityKey(['s'], [{ type: 2, value: 'a\uD800b' }], 3), 's', 'surrogate');
    assertEntityError(
      () => serializeEntityKey(['rate'], [{ type: 5, value: 0.5 } as unknown as EntityScalar], 3),
      'rate',
      '0.5',
      'type 5',
    );
  });

  it('rejects duplicate join keys and value-count mismatches', () => {
    assert.throws(() => createEntityKeyEncoder(['a', 'a'], 3), PlatterError);
    assert.throws(() => serializeEntityKey(['a', 'b'], [{ type: 3, value: 1 }], 3), PlatterError);
    assert.throws(() => createEntityKeyEncoder(['a'], 3).encode([]), PlatterError);
    assert.throws(() => createEntityKeyEncoder(['a'], 4 as EntityKeyVersion), PlatterError);
  });
});
