/**
 * Seeds Redis exactly in Feast's layout (feast-compat.md §2.1-2.3; Feast
 * sdk/python/feast/infra/online_stores/redis.py `online_write_batch`, helpers.py `_redis_key`,
 * `_mmh3`): key = serialized entity key ++ project; fields = 4-byte LE murmur3 of "view:feature"
 * holding a serialized Value, plus `_ts:<view>` holding a serialized Timestamp. The encoders used
 * here are pinned to Feast's own vectors in test/compat. Unlike the product's writer this helper
 * has no newer-wins check, so tests can write any state (stale rows, missing _ts, raw bytes).
 */
import type { Redis } from 'ioredis';
import { serializeEntityKey, type EntityKeyVersion, type EntityScalar } from '../../src/encoding/entity-key.js';
import { redisHashField, redisTimestampField } from '../../src/encoding/redis-layout.js';
import { encodeTimestamp } from '../../src/encoding/timestamp.js';

export interface SeedRow {
  /** Join key -> typed value. */
  readonly entity: Readonly<Record<string, EntityScalar>>;
  /** The view's event time; null writes no `_ts:<view>` field. */
  readonly ts: { seconds: number; nanos?: number } | null;
  /** Feature -> serialized Value bytes (Buffer.alloc(0) is Feast's "None"). */
  readonly values: Readonly<Record<string, Buffer>>;
}

export async function seedFeastRedis(
  client: Redis,
  project: string,
  viewName: string,
  rows: readonly SeedRow[],
  version: EntityKeyVersion = 3,
): Promise<void> {
  const pipe = client.pipeline();
  for (const row of rows) {
    const names = Object.keys(row.entity);
    const key = Buffer.concat([
      serializeEntityKey(names, names.map((n) => row.entity[n]!), version),
      Buffer.from(project, 'utf8'),
    ]);
    const args: Buffer[] = [];
    if (row.ts) args.push(redisTimestampField(viewName), encodeTimestamp(row.ts.seconds, row.ts.nanos ?? 0));
    for (const [f, v] of Object.entries(row.values)) args.push(redisHashField(viewName, f), v);
    if (args.length > 0) pipe.hset(key, ...args);
  }
  await pipe.exec();
}
