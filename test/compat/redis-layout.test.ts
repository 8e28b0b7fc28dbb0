/**
 * Redis layout (hash field names, timestamp fields, keys) and MurmurHash3 against Feast.
 *
 * Feast sources (commit f0bc0700be7029166e6605e407de6d229cd1e93e):
 * - sdk/python/feast/infra/online_stores/helpers.py (_mmh3, _redis_key)
 * - sdk/python/feast/infra/online_stores/redis.py (_generate_hset_keys_for_features)
 * - sdk/python/tests/unit/infra/online_store/test_redis.py (golden field bytes and key)
 * - sdk/python/tests/unit/infra/online_store/test_redis_versioning.py (_ts field)
 * Vectors: test/fixtures/feast-vectors/redis-layout.json.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createEntityKeyEncoder, type EntityScalar, serializeEntityKey } from '../../src/encoding/entity-key.js';
import { murmur3x86_32 } from '../../src/encoding/murmur3.js';
import { redisHashField, redisKey, redisTimestampField } from '../../src/encoding/redis-layout.js';

interface Fixture {
  hashFields: { featureView: string; feature: string; hashedString: string; uint32?: number; fieldHex: string; source: string }[];
  timestampFields: { featureView: string; field: string; fieldHex?: string; source: string }[];
  keys: {
    joinKeys: string[];
    values: { type: number; value: string | number }[];
    version: 3;
    project: string;
    keyHex: string;
    source: string;
  }[];
  murmur3: { input?: string; inputHex?: string; seed: number; uint32: number; signed?: number; source: string }[];
}

const fx = JSON.parse(
  readFileSync(new URL('../fixtures/feast-vectors/redis-layout.json', import.meta.url), 'utf8'),
) as Fixture;

function scalar(v: { type: number; value: string | number }): EntityScalar {
  if (v.type === 3) return { type: 3, value: Number(v.value) };
  if (v.type === 4) return { type: 4, value: BigInt(v.value) };
  if (v.type === 2) return { type: 2, value: String(v.value) };
  throw new Error(`fixture type ${v.type}`);
}

describe('murmur3x86_32', () => {
  for (const m of fx.murmur3) {
    it(`${JSON.stringify(m.input ?? m.inputHex)} seed ${m.seed} — ${m.source}`, () => {
      const data = m.inputHex !== undefined ? Buffer.from(m.inputHex, 'hex') : Buffer.from(m.input!, 'utf8');
      const h = murmur3x86_32(data, m.seed);
      assert.equal(h, m.uint32);
      if (m.signed !== undefined) assert.equal(h | 0, m.signed);
    });
  }

  it('defaults to seed 0 and returns an unsigned 32-bit integer', () => {
    const h = murmur3x86_32(Buffer.from('foo'));
    assert.equal(h, 4138058784);
    assert.ok(h >= 0 && h <= 0xffffffff);
  });

  it('handles every tail length', () => {
    // self-consistency across lengths 0..8 (tail handling): hashing is deterministic and distinct
    const seen = new Set<number>();
    for (let n = 0; n <= 8; n++) seen.add(murmur3x86_32(Buffer.from('abcdefgh'.slice(0, n))));
    assert.equal(seen.size, 9);
  });
});

describe('redis hash fields', () => {
  for (const f of fx.hashFields) {
    it(`${f.hashedString} — ${f.source}`, () => {
      const got = redisHashField(f.featureView, f.feature);
      assert.equal(got.toString('hex'), f.fieldHex);
      assert.equal(got.length, 4);
      if (f.uint32 !== undefined) assert.equal(got.readUInt32LE(0), f.uint32);
      assert.equal(murmur3x86_32(Buffer.from(f.hashedString, 'utf8')), got.readUInt32LE(0));
    });
  }

  it('hashes the UTF-8 bytes of non-ASCII names', () => {
    const got = redisHashField('vue', 'café');
    assert.equal(got.readUInt32LE(0), murmur3x86_32(Buffer.from('vue:café', 'utf8')));
  });
});

describe('redis timestamp fields', () => {
  for (const t of fx.timestampFields) {
    it(`${t.field} — ${t.source}`, () => {
      const got = redisTimestampField(t.featureView);
      assert.equal(got.toString('utf8'), t.field);
      if (t.fieldHex !== undefined) assert.equal(got.toString('hex'), t.fieldHex);
    });
  }
});

describe('redis keys', () => {
  for (const k of fx.keys) {
    it(`${k.joinKeys.join(',')} @ ${k.project} — ${k.source}`, () => {
      const values = k.values.map(scalar);
      const ek = serializeEntityKey(k.joinKeys, values, k.version);
      assert.equal(redisKey(ek, k.project).toString('hex'), k.keyHex);
      const enc = createEntityKeyEncoder(k.joinKeys, k.version);
      assert.equal(enc.encode(values, Buffer.from(k.project, 'utf8')).toString('hex'), k.keyHex);
    });
  }
});
