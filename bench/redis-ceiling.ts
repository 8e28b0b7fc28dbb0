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
import { Redis } from 'ioredis';
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

/** A client opened exactly as `platter serve` opens its reader's (src/online/redis/connect.ts), optionally auto-pipelined. */
async function openLikeServe(repoDir: string, autoPipeline: boolean): Promise<RedisClient> {
  const cfg = loadRepoConfig(repoDir);
  const store = cfg.onlineStore;
  if (store?.type !== 'redis') throw new Error(`${cfg.configPath}: the bench needs a redis online store`);
  const opts = { commandTimeoutMs: cfg.platter.onlineStoreTimeoutMs, connectionName: 'platter-bench-ceiling' };
  let client: RedisClient;
  if (autoPipeline) {
    const host = store.connection.hosts[0] ?? { host: 'localhost', port: 6379 };
    client = new Redis({
      host: host.host,
      port: host.port,
      db: store.connection.db ?? 0,
      ...(store.connection.password !== undefined ? { password: store.connection.password } : {}),
      ...(store.connection.username !== undefined ? { username: store.connection.username } : {}),
      commandTimeout: opts.commandTimeoutMs,
      connectionName: opts.connectionName,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
    });
  } else {
    client = openRedis({ redisType: store.redisType, ...store.connection }, opts);
  }
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

/** Every HMGET of a request as its own command on an auto-pipelined client (ioredis batches a tick's commands). */
async function hmgetAutoPipelined(client: RedisClient, keys: readonly Buffer[], fields: readonly Buffer[]): Promise<(Buffer | null)[][]> {
  return Promise.all(keys.map((k) => client.hmgetBuffer(k, ...fields)));
}

function makeCeilingTarget(name: string, autoPipeline: boolean, byDefault: boolean): Target {
  const read = autoPipeline ? hmgetAutoPipelined : hmgetPipeline;
  return {
    name,
    usesServer: false,
    byDefault,
    async prepare(ctx: BenchContext, w: Workload, pool: readonly (readonly number[])[]): Promise<PreparedLoad> {
      const layout = slots(w);
      const fields = layout.map((s) => s.field);
      const requests = pool.map((ids) => keysFor(ids, ctx.project));
      const client = await openLikeServe(ctx.repoDir, autoPipeline);
      const n = requests.length;
      return {
        async check() {
          const ids = [...new Set(checkIds(w, ctx.entities))];
          const rows = await read(client, keysFor(ids, ctx.project), fields);
          ids.forEach((id, r) => {
            const seeded = id <= ctx.entities;
            layout.forEach((s, i) => {
              const cell = rows[r]![i] ?? null;
              const what = `${name}: workload ${w.name}: id ${id}, field ${s.feature ? `${s.view}:${s.feature.name}` : `_ts:${s.view}`}`;
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
              const rows = await read(client, requests[seq % n]!, fields);
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
}

/** One pipeline per request, as the server reads today. */
export const redisCeilingTarget: Target = makeCeilingTarget('redis-ceiling', false, true);
/**
 * The same HMGETs as separate commands on an auto-pipelined client, so concurrent requests share
 * socket writes and reads (DESIGN.md §3 step 4 asks which is faster). Opt-in: --transport redis-autopipe.
 */
export const redisAutopipeTarget: Target = makeCeilingTarget('redis-autopipe', true, false);
