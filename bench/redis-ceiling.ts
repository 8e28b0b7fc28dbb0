/**
 * Redis reference points: the reads a workload's request needs, with no server in between, on
 * one connection opened exactly as `platter serve` opens its own, `BENCH_CONNECTIONS` requests in
 * flight. Keys are built before the window.
 *
 * - `redis-ceiling`: the product's own read path below the transport — `Planner` (src/serving/plan.ts)
 *   plans the request and `RedisOnlineReader.read` (src/online/redis/reader.ts) reads it, so it
 *   sends whatever commands the server sends (pipelined HMGETs, a Lua call, ...). The gap between a
 *   server row and this row is the server's own cost: transport, parsing, key building, rendering.
 * - `redis-hmget`: Feast's command shape written out by hand — one HMGET per distinct entity key
 *   (key = serialized entity key ++ project; fields = `_ts:<view>` and the murmur3 field of each
 *   feature, per view, in the planner's slot order), all of a request's HMGETs in one ioredis
 *   pipeline. What Feast's own servers send, through the client library the server uses.
 * - `redis-resp`: the same HMGETs through a minimal RESP client (lib/resp-client.ts: one socket,
 *   the request's commands prebuilt and written at once, replies parsed by counting). The floor:
 *   no server can read these cells for less client CPU; `cli CPU` of this row against
 *   `redis-hmget`'s is how far the client library is from it.
 * - `redis-autopipe` (opt-in): the same HMGETs as single commands on an ioredis client with
 *   `enableAutoPipelining`, which coalesces the commands of concurrent requests into shared writes
 *   (DESIGN.md §3 step 4).
 */
import { ValueType } from '../src/encoding/value-type.js';
import { createEntityKeyEncoder } from '../src/encoding/entity-key.js';
import { redisHashField, redisTimestampField } from '../src/encoding/redis-layout.js';
import { encodeTimestamp } from '../src/encoding/timestamp.js';
import { encodeValue } from '../src/encoding/value-encode.js';
import { loadRepoConfig } from '../src/config/load.js';
import { Redis } from 'ioredis';
import { openRedis, waitReady, type RedisClient } from '../src/online/redis/connect.js';
import { readFileSync } from 'node:fs';
import { releaseCells } from '../src/online/buffer-pool.js';
import { openRedisReader } from '../src/online/redis/open.js';
import { rowsFromCells, type ReadBatch } from '../src/online/types.js';
import { decodeRegistry } from '../src/registry/sources/decode.js';
import { buildRegistryIndex, type RegistryIndex } from '../src/registry/registry-index.js';
import type { RedisOnlineReader } from '../src/online/redis/reader.js';
import type { EntityKeyVersion } from '../src/encoding/entity-key.js';
import { Planner, type Plan } from '../src/serving/plan.js';
import { CheckFailure } from './lib/check.js';
import { closedLoop } from './lib/closed-loop.js';
import { RespClient, encodeCommand } from './lib/resp-client.js';
import type { BenchContext, PreparedLoad, Target } from './lib/types.js';
import { ENTITY, checkIds, eventSeconds, featureRefs, seedValue, type FeatureSpec, type Workload } from './workloads.js';

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

/** Compares the cells of HMGET replies (one row per distinct id, `layout` order) with the seed. */
function checkCells(name: string, w: Workload, ctx: BenchContext, ids: readonly number[], layout: readonly Slot[], rows: readonly (readonly (Buffer | null)[])[]): void {
  if (rows.length !== ids.length) throw new CheckFailure(`${name}: workload ${w.name}: ${rows.length} replies for ${ids.length} keys`);
  ids.forEach((id, r) => {
    const seeded = id <= ctx.entities;
    if (rows[r]!.length !== layout.length) throw new CheckFailure(`${name}: workload ${w.name}: id ${id}: ${rows[r]!.length} cells, expected ${layout.length}`);
    layout.forEach((s, i) => {
      const cell = rows[r]![i] ?? null;
      const what = `${name}: workload ${w.name}: id ${id}, field ${s.feature ? `${s.view}:${s.feature.name}` : `_ts:${s.view}`}`;
      if (!seeded) {
        if (cell !== null) throw new CheckFailure(`${what}: expected no value (never seeded), got ${cell.length} bytes`);
        return;
      }
      const want = s.feature ? encodeValue(ValueType[s.feature.valueType], seedValue(s.feature, id)) : encodeTimestamp(eventSeconds(ctx.baseSeconds, id), 0);
      if (cell === null || !cell.equals(want)) {
        throw new CheckFailure(`${what}: expected ${want.toString('hex')}, got ${cell ? cell.toString('hex') : 'nothing'}`);
      }
    });
  });
}

function makeCeilingTarget(name: string, autoPipeline: boolean, byDefault: boolean): Target {
  const read = autoPipeline ? hmgetAutoPipelined : hmgetPipeline;
  return {
    name,
    byDefault,
    async prepare(ctx: BenchContext, w: Workload, pool: readonly (readonly number[])[]): Promise<PreparedLoad> {
      const layout = slots(w);
      const fields = layout.map((s) => s.field);
      const requests = pool.map((ids) => keysFor(ids, ctx.project));
      const client = await openLikeServe(ctx.repoDir, autoPipeline);
      const n = requests.length;
      return {
        serverPid: null,
        async check() {
          const ids = [...new Set(checkIds(w, ctx.entities))];
          checkCells(name, w, ctx, ids, layout, await read(client, keysFor(ids, ctx.project), fields));
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

/** Feast's command shape: one pipeline of HMGETs per request. */
export const redisHmgetTarget: Target = makeCeilingTarget('redis-hmget', false, true);

/** The same HMGETs through the minimal RESP client: the floor of a request's Redis reads. */
export const redisRespTarget: Target = {
  name: 'redis-resp',
  byDefault: true,
  async prepare(ctx: BenchContext, w: Workload, pool: readonly (readonly number[])[]): Promise<PreparedLoad> {
    const layout = slots(w);
    const fields = layout.map((s) => s.field);
    const commandsFor = (keys: readonly Buffer[]) => Buffer.concat(keys.map((k) => encodeCommand(['HMGET', k, ...fields])));
    const requests = pool.map((ids) => {
      const keys = keysFor(ids, ctx.project);
      return { bytes: commandsFor(keys), replies: keys.length };
    });
    const r = ctx.redis;
    const client = await RespClient.connect(r.host, r.port, { password: r.password, db: r.db });
    const n = requests.length;
    return {
      serverPid: null,
      async check() {
        const ids = [...new Set(checkIds(w, ctx.entities))];
        const keys = keysFor(ids, ctx.project);
        const res = await client.send(commandsFor(keys), keys.length, true);
        checkCells('redis-resp', w, ctx, ids, layout, res.rows!);
      },
      run: (ms) =>
        closedLoop(
          async (seq) => {
            const req = requests[seq % n]!;
            return (await client.send(req.bytes, req.replies)).bytes;
          },
          ctx.settings.connections,
          ms,
        ),
      close: async () => client.close(),
    };
  },
};
/** The same HMGETs as separate commands on an auto-pipelined client. */
export const redisAutopipeTarget: Target = makeCeilingTarget('redis-autopipe', true, false);

/** What a check needs to know about the seed: ids 1..entities were written at `eventSeconds(baseSeconds, id)`. */
export interface SeedFacts {
  readonly entities: number;
  readonly baseSeconds: number;
}

/**
 * Compares a planned read (`rows` = rowsFromCells of one batch per plan group, one row per id of
 * `ids`, which must be distinct) with the seed: every feature's cell and its view's event time
 * equal the encoded seed values; a never-seeded id has neither. Throws CheckFailure on the first
 * difference.
 */
export function checkPlannedRows(
  name: string,
  w: Workload,
  plan: Plan,
  ids: readonly number[],
  rows: readonly (readonly (readonly (Buffer | null)[])[])[],
  seed: SeedFacts,
): void {
  plan.features.forEach((pf, i) => {
    const f = w.features[i]!;
    if (pf.name !== f.name) throw new CheckFailure(`${name}: workload ${w.name}: plan feature ${i} is '${pf.name}', expected '${f.name}'`);
    ids.forEach((id, r) => {
      const row = rows[pf.group]?.[r];
      const what = `${name}: workload ${w.name}: id ${id}, feature ${f.view}:${f.name}`;
      if (row === undefined) throw new CheckFailure(`${what}: no row`);
      const cell = row[pf.slot] ?? null;
      const ts = row[pf.tsSlot] ?? null;
      if (id > seed.entities) {
        if (cell !== null || ts !== null) throw new CheckFailure(`${what}: expected nothing (never seeded), got a value`);
        return;
      }
      const want = encodeValue(ValueType[f.valueType], seedValue(f, id));
      const wantTs = encodeTimestamp(eventSeconds(seed.baseSeconds, id), 0);
      if (cell === null || !cell.equals(want)) {
        throw new CheckFailure(`${what}: expected ${want.toString('hex')}, got ${cell ? cell.toString('hex') : 'nothing'}`);
      }
      if (ts === null || !ts.equals(wantTs)) {
        throw new CheckFailure(`${what}: event time expected ${wantTs.toString('hex')}, got ${ts ? ts.toString('hex') : 'nothing'}`);
      }
    });
  });
}

/** A workload planned once on `reader`, and its requests as the reader's batches. */
export interface PlannedReads {
  readonly plan: Plan;
  /** One ReadBatch per plan group, keys deduplicated as the serving core does. */
  batchesFor(ids: readonly number[]): ReadBatch[];
}

export function planReads(index: RegistryIndex, reader: RedisOnlineReader, version: EntityKeyVersion, w: Workload): PlannedReads {
  const plan = new Planner(index, reader, version).plan(featureRefs(w), w.featureService, false, [ENTITY.joinKey]);
  return {
    plan,
    batchesFor: (ids) =>
      plan.groups.map((g) => {
        const seen = new Set<number>();
        const keys: Buffer[] = [];
        for (const id of ids) {
          if (seen.has(id)) continue;
          seen.add(id);
          keys.push(g.encoder.encode([{ type: 4, value: id }], reader.keySuffix));
        }
        return { layout: g.layout, prepared: g.prepared, keys };
      }),
  };
}

/** The product's Planner + RedisOnlineReader, driven directly: the server's store reads without the server. */
export const redisCeilingTarget: Target = {
  name: 'redis-ceiling',
  byDefault: true,
  async prepare(ctx: BenchContext, w: Workload, pool: readonly (readonly number[])[]): Promise<PreparedLoad> {
    const cfg = loadRepoConfig(ctx.repoDir);
    const registryPath = cfg.registry.registryType === 'file' ? cfg.registry.localPath : undefined;
    if (registryPath === undefined) throw new Error(`${cfg.configPath}: the bench writes a local file registry`);
    const index = buildRegistryIndex(decodeRegistry(readFileSync(registryPath), registryPath), cfg.project);
    const store = cfg.onlineStore;
    if (store?.type !== 'redis') throw new Error(`${cfg.configPath}: the bench needs a redis online store`);
    // Opened exactly as `platter serve` opens its reader (src/cli/serve.ts).
    const reader = await openRedisReader(
      { redisType: store.redisType, ...store.connection },
      {
        project: cfg.project,
        mode: cfg.platter.redisRead,
        commandTimeoutMs: cfg.platter.onlineStoreTimeoutMs,
        connectionName: 'platter-bench-reader',
        onWarn: () => undefined,
      },
    );
    const { plan, batchesFor } = planReads(index, reader, cfg.entityKeySerializationVersion, w);
    const requests = pool.map(batchesFor);
    const n = requests.length;
    return {
      serverPid: null,
      async check() {
        const ids = [...new Set(checkIds(w, ctx.entities))];
        const batches = batchesFor(ids);
        checkPlannedRows('redis-ceiling', w, plan, ids, rowsFromCells(batches, await reader.read(batches)), ctx);
      },
      run: (ms) =>
        closedLoop(
          async (seq) => {
            const cells = await reader.read(requests[seq % n]!);
            let bytes = 0;
            for (const len of cells.length) if (len > 0) bytes += len;
            releaseCells(cells); // as the server does once a response is written
            return bytes;
          },
          ctx.settings.connections,
          ms,
        ),
      close: () => reader.close(),
    };
  },
};

/**
 * Opt-in: HGETALL per distinct key through the minimal RESP client, keeping the layout's fields.
 * Not what any Feast server sends; a reference for listpack-encoded hashes, where every HMGET
 * field is a linear scan of the hash (k fields cost k x N) while HGETALL is one walk (N).
 */
export const redisHgetallTarget: Target = {
  name: 'redis-hgetall',
  byDefault: false,
  async prepare(ctx: BenchContext, w: Workload, pool: readonly (readonly number[])[]): Promise<PreparedLoad> {
    const layout = slots(w);
    const commandsFor = (keys: readonly Buffer[]) => Buffer.concat(keys.map((k) => encodeCommand(['HGETALL', k])));
    const requests = pool.map((ids) => {
      const keys = keysFor(ids, ctx.project);
      return { bytes: commandsFor(keys), replies: keys.length };
    });
    const r = ctx.redis;
    const client = await RespClient.connect(r.host, r.port, { password: r.password, db: r.db });
    const n = requests.length;
    return {
      serverPid: null,
      async check() {
        const ids = [...new Set(checkIds(w, ctx.entities))];
        const keys = keysFor(ids, ctx.project);
        const res = await client.send(commandsFor(keys), keys.length, true);
        const rows = res.rows!.map((flat) => {
          const byField = new Map<string, Buffer>();
          for (let i = 0; i + 1 < flat.length; i += 2) byField.set(flat[i]!.toString('latin1'), flat[i + 1]!);
          return layout.map((s) => byField.get(s.field.toString('latin1')) ?? null);
        });
        checkCells('redis-hgetall', w, ctx, ids, layout, rows);
      },
      run: (ms) =>
        closedLoop(
          async (seq) => {
            const req = requests[seq % n]!;
            return (await client.send(req.bytes, req.replies)).bytes;
          },
          ctx.settings.connections,
          ms,
        ),
      close: async () => client.close(),
    };
  },
};
