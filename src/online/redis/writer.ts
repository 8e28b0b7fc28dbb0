/**
 * Writes rows in Feast's Redis layout with Feast's conditional newer-wins rule
 * (sdk/python/feast/infra/online_stores/redis.py `online_write_batch`): per batch, one pipeline of
 * `HMGET key _ts:<view>`; a row is skipped when a stored (non-zero) timestamp, or a newer one
 * queued earlier in the same batch for the same key, is >= its own; the rest are written with
 * `HSET key {_ts:<view>: Timestamp, mmh3(view:feature): Value, ...}` plus `EXPIRE key ttl` when
 * `key_ttl_seconds` is set. `skip_dedup` skips the read (last writer wins).
 */
import { decodeTimestamp, encodeTimestamp } from '../../encoding/timestamp.js';
import { redisHashField, redisKey, redisTimestampField } from '../../encoding/redis-layout.js';
import type { RedisClient } from './connect.js';

export interface OnlineWriteRow {
  /** Serialized entity key (no project suffix). */
  readonly entityKey: Buffer;
  /** Feature name -> serialized feast.types.Value. */
  readonly values: ReadonlyMap<string, Buffer>;
  readonly eventTs: { readonly seconds: number; readonly nanos: number };
}

export interface RedisWriteOptions {
  readonly keyTtlSeconds: number | null;
  readonly skipDedup: boolean;
}

export interface WriteResult {
  written: number;
  skipped: number;
}

const toNs = (t: { seconds: number; nanos: number }): bigint => BigInt(t.seconds) * 1_000_000_000n + BigInt(t.nanos);

export async function writeRedisRows(
  client: RedisClient,
  project: string,
  viewName: string,
  rows: readonly OnlineWriteRow[],
  opts: RedisWriteOptions,
): Promise<WriteResult> {
  const tsField = redisTimestampField(viewName);
  const keys = rows.map((r) => redisKey(r.entityKey, project));

  let stored: (bigint | null)[] = rows.map(() => null);
  if (!opts.skipDedup && rows.length > 0) {
    const read = client.pipeline();
    for (const k of keys) read.hmgetBuffer(k, tsField);
    const replies = (await read.exec()) ?? [];
    stored = replies.map(([err, reply]) => {
      if (err) throw err;
      const cell = (reply as (Buffer | null)[])[0];
      return cell && cell.length > 0 ? toNs(decodeTimestamp(cell)) : null;
    });
  }

  const fieldCache = new Map<string, Buffer>();
  const latestQueued = new Map<string, bigint>();
  const write = client.pipeline();
  let written = 0;
  let skipped = 0;
  rows.forEach((row, i) => {
    const key = keys[i]!;
    const newTs = toNs(row.eventTs);
    if (!opts.skipDedup) {
      const keyId = key.toString('latin1');
      const prev = stored[i] ?? null;
      const queued = latestQueued.get(keyId);
      const bar = prev !== null && prev !== 0n ? (queued !== undefined && queued > prev ? queued : prev) : queued;
      if (bar !== undefined && newTs <= bar) {
        skipped++;
        return;
      }
      latestQueued.set(keyId, newTs);
    }
    const args: Buffer[] = [tsField, encodeTimestamp(row.eventTs.seconds, row.eventTs.nanos)];
    for (const [feature, value] of row.values) {
      let field = fieldCache.get(feature);
      if (!field) {
        field = redisHashField(viewName, feature);
        fieldCache.set(feature, field);
      }
      args.push(field, value);
    }
    write.hset(key, ...args);
    if (opts.keyTtlSeconds !== null && opts.keyTtlSeconds > 0) write.expire(key, opts.keyTtlSeconds);
    written++;
  });
  if (written > 0) {
    const res = (await write.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
  }
  return { written, skipped };
}
