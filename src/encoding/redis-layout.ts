/**
 * Feast's Redis layout (sdk/python/feast/infra/online_stores/redis.py and helpers.py;
 * go/internal/feast/onlinestore/redisonlinestore.go):
 *
 * - key: serialized entity key ++ UTF-8 project name, no separator (`_redis_key`);
 * - feature field: 4 raw bytes, little-endian uint32 MurmurHash3-x86-32 (seed 0) of the UTF-8
 *   string `"<feature view>:<feature>"` (`_mmh3`);
 * - timestamp field: the string `_ts:<feature view>` (UTF-8, as redis-py encodes a str).
 *
 * These are plan-time helpers: compute the fields once per plan, not per request.
 */
import { murmur3x86_32 } from './murmur3.js';

export function redisHashField(featureViewName: string, featureName: string): Buffer {
  const h = murmur3x86_32(Buffer.from(`${featureViewName}:${featureName}`, 'utf8'));
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32LE(h, 0);
  return out;
}

export function redisTimestampField(featureViewName: string): Buffer {
  return Buffer.from(`_ts:${featureViewName}`, 'utf8');
}

export function redisKey(entityKeyBytes: Uint8Array, project: string): Buffer {
  const p = Buffer.from(project, 'utf8');
  const out = Buffer.allocUnsafe(entityKeyBytes.length + p.length);
  out.set(entityKeyBytes, 0);
  out.set(p, entityKeyBytes.length);
  return out;
}
