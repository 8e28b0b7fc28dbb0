/**
 * The Redis ceiling: the reads one request of a workload needs, sent straight from ioredis with no
 * server in between — one HMGET per distinct entity key (key = serialized entity key ++ project;
 * fields = `_ts:<view>` and the murmur3 field of each feature, per view, in the planner's slot
 * order), all of a request's HMGETs in one pipeline, `BENCH_CONNECTIONS` pipelines in flight on
 * one connection opened exactly as `platter serve` opens its own. Keys and fields are built before
 * the window, so this is the most a one-connection Node client can get out of this Redis for the
 * workload; the server's numbers are read against it.
 */
import { ValueType } from '../src/encoding/value-type.js';
import { createEntityKeyEncoder } from '../src/encoding/entity-key.js';
import { redisHashField, redisTimestampField } from '../src/encoding/redis-layout.js';
import { encodeTimestamp } from '../src/encoding/timestamp.js';
import { encodeValue } from '../src/encoding/value-encode.js';
import { loadRepoConfig } from '../src/config/load.js';
import { openRedis, waitReady, type RedisClient } from '../src/online/redis/connect.js';
import { CheckFailure } from './lib/check.js';
import { closedLoop } from './lib/closed-loop.js';
import type { BenchContext, PreparedLoad, Target } from './lib/types.js';
import { ENTITY, checkIds, eventSeconds, seedValue, type FeatureSpec, type Workload } from './workloads.js';

interface Slot {
  readonly field: Buffer;
  /** null for a view's `_ts:<view>` field. */
  readonly feature: FeatureSpec | null;
  readonly view: string;
}

/** HMGET fields in the planner's slot order: per view (first appearance), `_ts` then its features. */
function slots(w: Workload): Slot[] {
  const out: Slot[] = [];
  const views = [...new Set(w.features.map((f) => f.view))];
  for (const view of views) {
    out.push({ field: redisTimestampField(view), feature: null, view });
    for (const f of w.features) if (f.view === view) out.push({ field: redisHashField(view, f.name), feature: f, view });
  }
  return out;
}

/** Distinct Redis keys of a request, in first-seen order (the server dedups entity rows too). */
function keysFor(ids: readonly number[], project: string): Buffer[] {
  const enc = createEntityKeyEncoder([ENTITY.joinKey], 3);
  const suffix = Buffer.from(project, 'utf8');
  const seen = new Set<number>();
  const keys: Buffer[] = [];
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    keys.push(enc.encode([{ type: 4, value: id }], suffix));
  }
  return keys;
}

async function openLikeServe(repoDir: string): Promise<RedisClient> {
  const cfg = loadRepoConfig(repoDir);
  const store = cfg.onlineStore;
  if (store?.type !== 'redis') throw new Error(`${cfg.configPath}: the bench needs a redis online store`);
  const client = openRedis(
    { redisType: store.redisType, ...store.connection },
    { commandTimeoutMs: cfg.platter.onlineStoreTimeoutMs, connectionName: 'platter-bench-ceiling' },
  );
  client.on('error', () => undefined);
  await waitReady(client, 5000);
  return client;
}

async function hmgetPipeline(client: RedisClient, keys: readonly Buffer[], fields: readonly Buffer[]): Promise<(Buffer | null)[][]> {
  const pipe = client.pipeline();
  for (const k of keys) pipe.hmgetBuffer(k, ...fields);
  const replies = await pipe.exec();
  if (replies === null) throw new Error('pipeline aborted');
  return replies.map(([err, reply]) => {
    if (err) throw err;
    return reply as (Buffer | null)[];
  });
}

export const redisCeilingTarget: Target = {
  name: 'redis-ceiling',
  usesServer: false,
  async prepare(ctx: BenchContext, w: Workload, pool: readonly (readonly number[])[]): Promise<PreparedLoad> {
    const layout = slots(w);
    const fields = layout.map((s) => s.field);
    const requests = pool.map((ids) => keysFor(ids, ctx.project));
    const client = await openLikeServe(ctx.repoDir);
    const n = requests.length;
    return {
      async check() {
        const ids = [...new Set(checkIds(w, ctx.entities))];
        const rows = await hmgetPipeline(client, keysFor(ids, ctx.project), fields);
        ids.forEach((id, r) => {
          const seeded = id <= ctx.entities;
          layout.forEach((s, i) => {
            const cell = rows[r]![i] ?? null;
            const what = `redis-ceiling: workload ${w.name}: id ${id}, field ${s.feature ? `${s.view}:${s.feature.name}` : `_ts:${s.view}`}`;
            if (!seeded) {
              if (cell !== null) throw new CheckFailure(`${what}: expected no value (never seeded), got ${cell.length} bytes`);
              return;
            }
            const want = s.feature
              ? encodeValue(ValueType[s.feature.valueType], seedValue(s.feature, id))
              : encodeTimestamp(eventSeconds(ctx.baseSeconds, id), 0);
            if (cell === null || !cell.equals(want)) {
              throw new CheckFailure(`${what}: expected ${want.toString('hex')}, got ${cell ? cell.toString('hex') : 'nothing'}`);
            }
          });
        });
      },
      run: (ms) =>
        closedLoop(
          async (seq) => {
            const rows = await hmgetPipeline(client, requests[seq % n]!, fields);
            let bytes = 0;
            for (const row of rows) for (const cell of row) if (cell !== null) bytes += cell.length;
            return bytes;
          },
          ctx.settings.connections,
          ms,
        ),
      close: async () => {
        client.disconnect();
      },
    };
  },
};
