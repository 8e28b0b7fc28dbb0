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
import { Cluster, type ChainableCommander, type Redis } from 'ioredis';
import { keySlot } from './key-slot.js';
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
    const replies = await many(client, keys.map((k): Op => ['hmget', k, tsField]));
    stored = replies.map((reply) => {
      const cell = (reply as (Buffer | null)[])[0];
      return cell && cell.length > 0 ? toNs(decodeTimestamp(cell)) : null;
    });
  }

  const fieldCache = new Map<string, Buffer>();
  const latestQueued = new Map<string, bigint>();
  const writes: { key: Buffer; args: Buffer[] }[] = [];
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
    writes.push({ key, args });
    written++;
  });
  if (written > 0) {
    const ttl = opts.keyTtlSeconds !== null && opts.keyTtlSeconds > 0 ? opts.keyTtlSeconds : null;
    const ops: Op[] = [];
    for (const { key, args } of writes) {
      ops.push(['hset', key, args]);
      if (ttl !== null) ops.push(['expire', key, ttl]);
    }
    await many(client, ops);
  }
  return { written, skipped };
}

/** The writer's commands (replies of HMGET as Buffers). */
type Op = readonly ['hmget', Buffer, Buffer] | readonly ['hset', Buffer, Buffer[]] | readonly ['expire', Buffer, number];

function issue(c: Cluster | ChainableCommander, op: Op): unknown {
  switch (op[0]) {
    case 'hmget':
      return c.hmgetBuffer(op[1], op[2]);
    case 'hset':
      return c.hset(op[1], ...op[2]);
    case 'expire':
      return c.expire(op[1], op[2]);
  }
}

/**
 * Runs commands on many keys and returns their replies in order, failing on the first error. On
 * one server they go as one pipeline. A cluster pipeline must stay on one node, so on a cluster
 * the commands are grouped by the master that owns each key's slot in ioredis's slot map and sent
 * as one pipeline per node; commands a node refuses because the slot moved meanwhile
 * (MOVED/ASK/TRYAGAIN/CLUSTERDOWN) go again one by one through the cluster client, which follows
 * the redirect and refreshes its map. Commands for one key stay in order: they share a node.
 */
async function many(client: RedisClient, ops: readonly Op[]): Promise<unknown[]> {
  if (client instanceof Cluster) return manyOnCluster(client, ops);
  return execPipeline(client.pipeline(), ops);
}

async function execPipeline(pipe: ChainableCommander, ops: readonly Op[]): Promise<unknown[]> {
  for (const op of ops) issue(pipe, op);
  const replies = (await pipe.exec()) ?? [];
  return replies.map(([err, reply]) => {
    if (err) throw err;
    return reply;
  });
}

const REDIRECTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /;

async function manyOnCluster(cluster: Cluster, ops: readonly Op[]): Promise<unknown[]> {
  const nodes = new Map(cluster.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]));
  const byNode = new Map<Redis, number[]>();
  const again: number[] = [];
  for (let i = 0; i < ops.length; i++) {
    const node = nodes.get(cluster.slots[keySlot(ops[i]![1])]?.[0] ?? '');
    if (node === undefined) {
      again.push(i); // slot map not known yet: the cluster client routes it
      continue;
    }
    let list = byNode.get(node);
    if (list === undefined) byNode.set(node, (list = []));
    list.push(i);
  }
  const out: unknown[] = new Array(ops.length);
  await Promise.all(
    [...byNode].map(async ([node, idx]) => {
      const pipe = node.pipeline();
      for (const i of idx) issue(pipe, ops[i]!);
      const replies = (await pipe.exec()) ?? [];
      replies.forEach(([err, reply], j) => {
        if (err === null) out[idx[j]!] = reply;
        else if (REDIRECTED.test(err.message)) again.push(idx[j]!);
        else throw err;
      });
    }),
  );
  if (again.length > 0) {
    again.sort((a, b) => a - b);
    const replies = await Promise.all(again.map((i) => issue(cluster, ops[i]!)));
    again.forEach((i, j) => (out[i] = replies[j]));
  }
  return out;
}
