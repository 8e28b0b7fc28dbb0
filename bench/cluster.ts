/**
 * Redis Cluster reads: what the cluster read lanes save against the ioredis per-key path.
 *
 * Why: on a Redis Cluster the reader used to send every entity key's HMGET (or HGETALL) as its own
 * ioredis command: ioredis routes each one by slot and resolves one promise per key, so a 100-key
 * request is 100 commands, 100 promises and 100 reply arrays in the client. The lanes
 * (src/online/redis/cluster-lanes.ts, opened by `openRedisReader` in mode `auto`) write a request's
 * commands for each node in one buffer on that node's lane and take the cells straight from the
 * reply bytes (`#readClusterLanes` in src/online/redis/reader.ts). Mode `pipeline` has no lanes, so
 * on a cluster it is exactly the old per-key path.
 *
 * What: a private Redis Cluster of 3 masters and no replicas (test/helpers/redis-server.ts), so
 * both paths read the masters; the bench's feature repo (workloads.ts) with `redis_type:
 * redis_cluster`, seeded through the product's writer (seed.ts); then, per workload, two readers
 * opened as `platter serve` opens its own (`openRedisReader`, `Planner`, keys deduplicated and built
 * before the window, as redis-ceiling.ts does) with modes `pipeline` (ioredis per key) and `auto`
 * (lanes). Before anything is measured both readers' answers are compared with the seed formulas
 * (checkPlannedRows) and with each other on pool requests; a difference exits 1. Each path gets
 * a 1 s warm-up (discarded) and a `BENCH_SECONDS` closed-loop window with `BENCH_CONNECTIONS`
 * requests in flight; this process's CPU (`process.cpuUsage`) and the three nodes' CPU
 * (`INFO cpu`) are sampled around the window. After the lanes window, CLIENT LIST on every node
 * must show the lanes reader's lane as the connection that last read (a sanity check that the
 * lanes, not the ioredis fallback, served the window).
 *
 * Rerun:
 *   node --import tsx bench/cluster.ts                       # 1x50, 10x50, 100x50, 100x250
 *   node --import tsx bench/cluster.ts --workload 100x50     # or BENCH_WORKLOADS=100x50,1x10
 *   BENCH_SECONDS=10 BENCH_CONNECTIONS=32 BENCH_ENTITIES=10000 node --import tsx bench/cluster.ts
 * Needs redis-server and redis-cli on PATH. Prints a Markdown table to stdout (progress to stderr)
 * and writes bench/results/<UTC start time>-cluster-<short commit>.json.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadRepoConfig } from '../src/config/load.js';
import type { RepoConfig } from '../src/config/repo-config.js';
import { releaseCells } from '../src/online/buffer-pool.js';
import { openRedisReader } from '../src/online/redis/open.js';
import type { RedisOnlineReader, RedisReadMode } from '../src/online/redis/reader.js';
import { rowsFromCells, type ReadBatch } from '../src/online/types.js';
import { decodeRegistry } from '../src/registry/sources/decode.js';
import { buildRegistryIndex } from '../src/registry/registry-index.js';
import { clientList } from '../test/helpers/redis-admin.js';
import { startRedisCluster, type RedisClusterProcess } from '../test/helpers/redis-server.js';
import { CheckFailure } from './lib/check.js';
import { closedLoop } from './lib/closed-loop.js';
import { redisCpuMicros, selfCpuMicros } from './lib/cpu.js';
import type { LatencySummary } from './lib/latency.js';
import { infoField, redisInfo } from './lib/redis.js';
import { buildInfo, writeResultsFile } from './lib/report.js';
import { writeBenchRepo, type BenchRepo } from './lib/repo.js';
import { readSettings } from './lib/settings.js';
import type { RawLoad } from './lib/types.js';
import { checkPlannedRows, planReads, type PlannedReads, type SeedFacts } from './redis-ceiling.js';
import { seedRepo } from './seed.js';
import { VIEW_COUNT, checkIds, requestPool, workloadByName, type Workload } from './workloads.js';

const DEFAULT_WORKLOADS = ['1x50', '10x50', '100x50', '100x250'];
const WARMUP_MS = 1000;
/** Pool requests both readers must answer with identical cells before the load. */
const SAME_ANSWER_REQUESTS = 20;

interface PathSpec {
  /** The table's `path` column. */
  readonly name: 'ioredis per key' | 'lanes';
  readonly mode: RedisReadMode;
  /** CLIENT SETNAME of the reader's ioredis connections; its lanes are `<name>-lane`. */
  readonly connectionName: string;
}

/** ioredis per key first, then lanes, in every workload. */
const PATHS: readonly PathSpec[] = [
  { name: 'ioredis per key', mode: 'pipeline', connectionName: 'platter-bench-ioredis' },
  { name: 'lanes', mode: 'auto', connectionName: 'platter-bench-lanes' },
];

interface OpenPath extends PathSpec {
  readonly reader: RedisOnlineReader;
}

interface Row {
  readonly workload: string;
  readonly path: PathSpec['name'];
  readonly mode: RedisReadMode;
  readonly reqPerSec: number;
  readonly ok: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly elapsedMs: number;
  readonly latencyMs: LatencySummary;
  readonly clientCpuUsPerReq: number;
  /** Sum of the three nodes' used_cpu_user + used_cpu_sys over the window, per request; null if a node did not say. */
  readonly redisCpuUsPerReq: number | null;
  readonly redisCpuUsPerNode: readonly (number | null)[];
  /** Cell bytes returned per request. */
  readonly bytesPerReq: number;
  /** ioredis per key's client CPU per request / this row's (lanes rows only). */
  readonly clientCpuRatio: number | null;
}

const started = performance.now();
const log = (msg: string) => process.stderr.write(`[cluster ${((performance.now() - started) / 1000).toFixed(0).padStart(3)}s] ${msg}\n`);

function selectedWorkloads(): Workload[] {
  const { values, positionals } = parseArgs({
    options: { workload: { type: 'string', short: 'w', multiple: true } },
    allowPositionals: true,
    strict: true,
  });
  const fromArgs = [...(values.workload ?? []), ...positionals];
  const raw = fromArgs.length > 0 ? fromArgs : process.env.BENCH_WORKLOADS ? [process.env.BENCH_WORKLOADS] : DEFAULT_WORKLOADS;
  return raw.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean).map(workloadByName);
}

function windowSeconds(): number {
  const raw = process.env.BENCH_SECONDS;
  if (raw === undefined || raw === '') return 4;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0.5) throw new Error(`BENCH_SECONDS=${raw}: expected a number >= 0.5`);
  return n;
}

/** A reader opened exactly as `platter serve` opens its own (src/cli/serve.ts), in `mode`. */
async function openPath(cfg: RepoConfig, p: PathSpec): Promise<OpenPath> {
  const store = cfg.onlineStore;
  if (store?.type !== 'redis') throw new Error(`${cfg.configPath}: the bench needs a redis online store`);
  const reader = await openRedisReader(
    { redisType: store.redisType, ...store.connection },
    {
      project: cfg.project,
      mode: p.mode,
      commandTimeoutMs: cfg.platter.onlineStoreTimeoutMs,
      connectionName: p.connectionName,
      onWarn: (msg, err) => log(`${p.name}: ${msg}: ${err.message}`),
    },
  );
  return { ...p, reader };
}

async function readRows(reader: RedisOnlineReader, batches: readonly ReadBatch[]): Promise<(Buffer | null)[][][]> {
  return rowsFromCells(batches, await reader.read(batches));
}

/** Both readers agree with the seed on the check request, and with each other on the first pool requests. */
async function checkPaths(w: Workload, paths: readonly OpenPath[], planned: readonly PlannedReads[], pool: readonly (readonly number[])[], seed: SeedFacts): Promise<void> {
  const ids = [...new Set(checkIds(w, seed.entities))];
  for (let i = 0; i < paths.length; i++) {
    checkPlannedRows(paths[i]!.name, w, planned[i]!.plan, ids, await readRows(paths[i]!.reader, planned[i]!.batchesFor(ids)), seed);
  }
  const [a, b] = [paths[0]!, paths[1]!];
  const [pa, pb] = [planned[0]!, planned[1]!];
  for (const req of pool.slice(0, SAME_ANSWER_REQUESTS)) {
    const [ra, rb] = await Promise.all([readRows(a.reader, pa.batchesFor(req)), readRows(b.reader, pb.batchesFor(req))]);
    const distinct = [...new Set(req)];
    ra.forEach((group, g) =>
      group.forEach((row, r) =>
        row.forEach((cell, s) => {
          const other = rb[g]?.[r]?.[s] ?? null;
          if (cell === null ? other !== null : other === null || !cell.equals(other)) {
            throw new CheckFailure(
              `workload ${w.name}: ids [${req.join(', ')}]: group ${g}, id ${distinct[r]}, slot ${s}: ` +
                `${a.name} read ${cell?.toString('hex') ?? 'nothing'}, ${b.name} read ${other?.toString('hex') ?? 'nothing'}`,
            );
          }
        }),
      ),
    );
    if (rb.some((group, g) => group.length !== ra[g]?.length)) throw new CheckFailure(`workload ${w.name}: ids [${req.join(', ')}]: the paths returned different row counts`);
  }
}

/** used_cpu_user + used_cpu_sys of each node, in microseconds. */
async function nodeCpu(admins: readonly Redis[]): Promise<(number | null)[]> {
  return Promise.all(admins.map(async (a) => redisCpuMicros(await redisInfo(a, 'cpu'))));
}

/** CLIENT LIST on every node: the lanes reader's lane read last, its ioredis connections did not read. */
async function checkLanesServed(admins: readonly Redis[], nodes: readonly string[], p: OpenPath): Promise<void> {
  const reads = new Set(['hmget', 'hgetall']);
  for (let i = 0; i < admins.length; i++) {
    const clients = await clientList(admins[i]!);
    const lanes = clients.filter((c) => c.name === `${p.connectionName}-lane`);
    if (!lanes.some((c) => reads.has(c.cmd ?? ''))) {
      throw new CheckFailure(`${nodes[i]}: no lane of '${p.name}' read (lanes: ${lanes.map((c) => `cmd=${c.cmd}`).join(', ') || 'none'})`);
    }
    const fellBack = clients.filter((c) => c.name === p.connectionName && reads.has(c.cmd ?? ''));
    if (fellBack.length > 0) throw new CheckFailure(`${nodes[i]}: '${p.name}' read through its ioredis connection (cmd=${fellBack[0]!.cmd}): the lanes did not serve the window`);
  }
}

async function measure(w: Workload, p: OpenPath, requests: readonly ReadBatch[][], admins: readonly Redis[], connections: number, seconds: number): Promise<Row> {
  const n = requests.length;
  const run = (ms: number): Promise<RawLoad> =>
    closedLoop(
      async (seq) => {
        const cells = await p.reader.read(requests[seq % n]!);
        let bytes = 0;
        for (const len of cells.length) if (len > 0) bytes += len;
        releaseCells(cells); // as the server does once a response is written
        return bytes;
      },
      connections,
      ms,
    );
  await run(WARMUP_MS);
  const redisBefore = await nodeCpu(admins);
  const selfBefore = selfCpuMicros();
  const raw = await run(seconds * 1000);
  const selfUs = selfCpuMicros() - selfBefore;
  const redisAfter = await nodeCpu(admins);
  const perNode = redisAfter.map((after, i) => {
    const before = redisBefore[i];
    return after === null || before === null || before === undefined ? null : after - before;
  });
  const redisUs = perNode.some((x) => x === null) ? null : perNode.reduce<number>((s, x) => s + (x ?? 0), 0);
  const ok = Math.max(1, raw.ok);
  if (raw.errors > 0) log(`${w.name} ${p.name}: ${raw.errors} failed requests, first: ${raw.firstError}`);
  return {
    workload: w.name,
    path: p.name,
    mode: p.mode,
    reqPerSec: raw.ok / (raw.elapsedMs / 1000),
    ok: raw.ok,
    errors: raw.errors,
    firstError: raw.firstError ?? null,
    elapsedMs: raw.elapsedMs,
    latencyMs: raw.latency.summary(),
    clientCpuUsPerReq: selfUs / ok,
    redisCpuUsPerReq: redisUs === null ? null : redisUs / ok,
    redisCpuUsPerNode: perNode,
    bytesPerReq: raw.bytes / ok,
    clientCpuRatio: null,
  };
}

function renderTable(rows: readonly Row[]): string {
  const f = (x: number | null, digits: number) => (x === null || !Number.isFinite(x) ? 'n/a' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  const lines = [
    '| workload | path | req/s | p50 / p99 ms | client CPU µs/req | Redis CPU µs/req (3 nodes) | client CPU ioredis ÷ lanes | err |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.workload} | ${r.path} | ${f(r.reqPerSec, 0)} | ${f(r.latencyMs.p50, 2)} / ${f(r.latencyMs.p99, 2)} | ${f(r.clientCpuUsPerReq, 0)} | ` +
        `${f(r.redisCpuUsPerReq, 0)} | ${r.clientCpuRatio === null ? '' : `${f(r.clientCpuRatio, 2)}x`} | ${r.errors} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const startedAt = new Date().toISOString();
  const settings = readSettings();
  const seconds = windowSeconds();
  const workloads = selectedWorkloads();
  const build = buildInfo();

  let cluster: RedisClusterProcess | null = null;
  let repo: BenchRepo | null = null;
  const admins: Redis[] = [];
  const paths: OpenPath[] = [];
  try {
    log('starting a Redis Cluster of 3 masters, no replicas');
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
    const nodes = cluster.seeds.map((s) => `${s.host}:${s.port}`);
    for (const s of cluster.seeds) {
      const admin = new Redis({ host: s.host, port: s.port, maxRetriesPerRequest: 1 });
      admin.on('error', () => undefined);
      admins.push(admin);
    }
    const redisVersion = infoField(await redisInfo(admins[0]!, 'server'), 'redis_version');

    const project = `bench_${process.pid}`;
    repo = writeBenchRepo(project, { connectionString: nodes.join(',') }, 'redis_cluster');
    const baseSeconds = Math.floor(Date.now() / 1000);
    const seed: SeedFacts = { entities: settings.entities, baseSeconds };
    log(`seeding ${settings.entities} entities x ${VIEW_COUNT} views through the writer (one pipeline per master)`);
    const seeded = await seedRepo(repo.dir, settings.entities, baseSeconds);
    log(`seeded ${seeded.rowsWritten} rows in ${(seeded.ms / 1000).toFixed(1)} s`);

    const cfg = loadRepoConfig(repo.dir);
    const registryPath = cfg.registry.registryType === 'file' ? cfg.registry.localPath : undefined;
    if (registryPath === undefined) throw new Error(`${cfg.configPath}: the bench writes a local file registry`);
    const index = buildRegistryIndex(decodeRegistry(readFileSync(registryPath), registryPath), cfg.project);
    for (const p of PATHS) paths.push(await openPath(cfg, p));

    const rows: Row[] = [];
    for (const w of workloads) {
      const pool = requestPool(w, settings.poolSize, settings.entities, settings.seed);
      const planned = paths.map((p) => planReads(index, p.reader, cfg.entityKeySerializationVersion, w));
      await checkPaths(w, paths, planned, pool, seed);
      log(`${w.name}: both paths match the seed and each other`);
      const byPath: Row[] = [];
      for (let i = 0; i < paths.length; i++) {
        const p = paths[i]!;
        const requests = pool.map((ids) => planned[i]!.batchesFor(ids));
        const row = await measure(w, p, requests, admins, settings.connections, seconds);
        if (p.mode === 'auto') await checkLanesServed(admins, nodes, p);
        byPath.push(row);
        log(`${w.name} ${p.name}: ${row.reqPerSec.toFixed(0)} req/s, client ${row.clientCpuUsPerReq.toFixed(0)} µs/req`);
      }
      const base = byPath.find((r) => r.path === 'ioredis per key')!;
      rows.push(...byPath.map((r) => (r.path === 'lanes' ? { ...r, clientCpuRatio: base.clientCpuUsPerReq / r.clientCpuUsPerReq } : r)));
    }

    const header = [
      `Redis Cluster reads, ioredis per key vs lanes: 3 masters, no replicas; ${settings.connections} requests in flight, ` +
        `${seconds} s per window after a ${WARMUP_MS / 1000} s warm-up; pool of ${settings.poolSize} requests per workload (BENCH_SEED ${settings.seed})`,
      `Node ${process.version}, Redis ${redisVersion ?? 'unknown'}, commit ${build.commit?.slice(0, 7) ?? 'unknown'}${build.commitDirty ? ' (work tree modified)' : ''}; ` +
        `seeded ${seeded.rowsWritten.toLocaleString('en-US')} rows (${settings.entities.toLocaleString('en-US')} entities x ${VIEW_COUNT} views) in ${(seeded.ms / 1000).toFixed(1)} s`,
    ];
    console.log(['', ...header, '', renderTable(rows), ''].join('\n'));

    const doc = {
      schema: 1,
      kind: 'cluster',
      startedAt,
      endedAt: new Date().toISOString(),
      argv: process.argv.slice(2),
      settings: { connections: settings.connections, windowSeconds: seconds, warmupSeconds: WARMUP_MS / 1000, entities: settings.entities, poolSize: settings.poolSize, seed: settings.seed, workloads: workloads.map((w) => w.name) },
      ...build,
      redis: { version: redisVersion, masters: nodes, replicas: 0 },
      seeding: { rows: seeded.rowsWritten, ms: Math.round(seeded.ms) },
      rows,
    };
    const file = writeResultsFile(startedAt, 'cluster', build.commit, doc);
    log(`wrote ${file}`);
    return 0;
  } finally {
    for (const p of paths) await p.reader.close().catch(() => undefined);
    for (const a of admins) a.disconnect();
    repo?.remove();
    await cluster?.stop();
  }
}

// Ctrl-C: exit through process.exit so the cluster's nodes are killed by their exit handlers.
process.once('SIGINT', () => process.exit(130));
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CheckFailure) process.stderr.write(`CHECK FAILED: ${err.message}\n`);
    else process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
