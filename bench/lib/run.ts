/**
 * One bench run: find Redis -> write a temp feature repo (project `bench_<pid>`) -> seed through
 * the product's writer -> start `platter serve` as a child -> for each workload: CHECK every
 * target's answers against the seed, then for each target warm up (unmeasured) and load for the
 * measured window, sampling server, client and Redis CPU around it -> table + results JSON ->
 * stop the server and delete the project's keys (also on failure and Ctrl-C).
 */
import os from 'node:os';
import { relative } from 'node:path';
import { CheckFailure } from './check.js';
import { machineBusyMicros, procCpu, procRssMiB, redisCpuMicros, selfCpuMicros } from './cpu.js';
import { benchClient, findRedis, infoField, redisInfo } from './redis.js';
import { renderTable, writeResults, type ResultRow } from './report.js';
import { writeBenchRepo } from './repo.js';
import { REPO_ROOT, startServer, type ServerProcess } from './server.js';
import { readSettings } from './settings.js';
import type { BenchContext, PreparedLoad, RawLoad, Target } from './types.js';
import { dropProject, seedRepo } from '../seed.js';
import { requestPool, selectWorkloads, type Workload } from '../workloads.js';
import { httpTarget } from '../http.js';
import { grpcH2Target, grpcTarget } from '../grpc.js';
import { redisAutopipeTarget, redisCeilingTarget, redisHmgetTarget } from '../redis-ceiling.js';

/** Every load target, in table order. Later reference points (naive server, static floor, open loop) go here. */
export const TARGETS: readonly Target[] = [httpTarget, grpcTarget, grpcH2Target, redisCeilingTarget, redisHmgetTarget, redisAutopipeTarget];

export interface RunOptions {
  readonly workloads: readonly string[];
  readonly transports: readonly string[];
}

/** Background CPU above this (in cores) marks a row as measured on a busy machine. */
const NOISY_CORES = 0.2;

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

function selectTargets(names: readonly string[]): Target[] {
  if (names.length === 0) return TARGETS.filter((t) => t.byDefault);
  if (names.includes('all')) return [...TARGETS];
  return names.map((n) => {
    const t = TARGETS.find((x) => x.name === n);
    if (!t) throw new Error(`unknown transport '${n}'; known: ${TARGETS.map((x) => x.name).join(', ')}`);
    return t;
  });
}

export async function runBench(opts: RunOptions): Promise<number> {
  const settings = readSettings();
  const workloads = selectWorkloads(opts.workloads);
  const targets = selectTargets(opts.transports);
  const startedAt = new Date();
  const loadAvgAtStart = os.loadavg();
  const t0 = performance.now();

  const redis = await findRedis(settings.redisUrl);
  const admin = benchClient(redis);
  const redisVersion = infoField(await redisInfo(admin, 'server'), 'redis_version');
  const project = `bench_${process.pid}`;
  const repo = writeBenchRepo(project, redis);
  const baseSeconds = Math.floor(Date.now() / 1000);
  let server: ServerProcess | null = null;
  const prepared: PreparedLoad[] = [];

  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const p of prepared.splice(0)) await p.close().catch(() => undefined);
      await server?.stop().catch(() => undefined);
      const n = await dropProject(admin, project).catch((err: Error) => {
        log(`could not delete the keys of ${project}: ${err.message}`);
        return 0;
      });
      log(`deleted ${n} keys of project ${project}`);
      admin.disconnect();
      repo.remove();
      await redis.stop();
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    log(`redis ${redisVersion ?? '?'} at ${redis.host}:${redis.port} (${redis.origin}); project ${project}; repo ${repo.dir}`);
    const seeded = await seedRepo(repo.dir, settings.entities, baseSeconds);
    log(`seeded ${seeded.rowsWritten} rows (${settings.entities} entities x 2 views) in ${(seeded.ms / 1000).toFixed(1)} s`);
    server = await startServer({ repoDir: repo.dir, nodeArgs: settings.serverNodeArgs });
    log(`platter serve pid ${server.pid}: http ${server.httpUrl}, grpc ${server.grpcAddress}`);
    const ctx: BenchContext = { settings, server, redis, project, repoDir: repo.dir, entities: settings.entities, baseSeconds };

    const rows: ResultRow[] = [];
    for (const w of workloads) {
      const pool = requestPool(w, settings.poolSize, settings.entities, settings.seed);
      const loads: PreparedLoad[] = [];
      for (const t of targets) {
        const p = await t.prepare(ctx, w, pool);
        prepared.push(p);
        loads.push(p);
      }
      for (const p of loads) await p.check();
      log(`${w.name}: responses match the seed on ${targets.map((t) => t.name).join(', ')}`);
      for (const [i, t] of targets.entries()) {
        const row = await measure(ctx, admin, w, t, loads[i]!);
        rows.push(row);
        log(
          `${w.name} ${t.name}: ${Math.round(row.rps)} req/s, p50 ${row.latencyMs.p50.toFixed(3)} ms, p99 ${row.latencyMs.p99.toFixed(3)} ms` +
            (row.errors > 0 ? `, ${row.errors} errors` : '') +
            (row.backgroundCores !== null && row.backgroundCores > NOISY_CORES
              ? ` (WARNING: other processes used ${row.backgroundCores.toFixed(2)} cores during this run)`
              : ''),
        );
      }
      for (const p of loads) {
        await p.close();
        prepared.splice(prepared.indexOf(p), 1);
      }
    }

    const finishedAt = new Date();
    const path = writeResults(
      {
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
        argv: process.argv.slice(2),
        loadAvgAtStart,
        settings,
        redis: { version: redisVersion, origin: redis.origin, address: `${redis.host}:${redis.port}` },
        seed: { entities: settings.entities, rowsWritten: seeded.rowsWritten, ms: Math.round(seeded.ms) },
        project,
        workloads: workloads.map((w) => ({ name: w.name, description: w.description })),
      },
      rows,
    );
    process.stdout.write(`${renderTable(rows)}\n`);
    log(`results: ${relative(REPO_ROOT, path)}; ${((performance.now() - t0) / 1000).toFixed(1)} s in the bench`);
    return rows.some((r) => r.errors > 0) ? 1 : 0;
  } catch (err) {
    if (err instanceof CheckFailure) {
      log(`ABORTED: a response does not match what was seeded, so nothing was measured.\n  ${err.message}`);
    } else {
      log(`failed: ${(err as Error).stack ?? String(err)}`);
      if (server) log(`server log:\n${server.log()}`);
    }
    return 1;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function measure(ctx: BenchContext, admin: ReturnType<typeof benchClient>, w: Workload, t: Target, load: PreparedLoad): Promise<ResultRow> {
  const { settings, server } = ctx;
  if (settings.warmupS > 0) await load.run(settings.warmupS * 1000);
  const redisBefore = redisCpuMicros(await redisInfo(admin, 'cpu'));
  const serverBefore = procCpu(server.pid);
  const selfBefore = selfCpuMicros();
  const machineBefore = machineBusyMicros();
  const raw: RawLoad = await load.run(settings.durationS * 1000);
  const machineAfter = machineBusyMicros();
  const selfAfter = selfCpuMicros();
  const serverAfter = procCpu(server.pid);
  const redisAfter = redisCpuMicros(await redisInfo(admin, 'cpu'));
  const perReq = (a: number | null, b: number | null) => (a === null || b === null || raw.ok === 0 ? null : (b - a) / raw.ok);
  const windowUs = raw.elapsedMs * 1000;
  const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
  const machineUs = delta(machineBefore, machineAfter);
  const serverUserUs = delta(serverBefore?.user ?? null, serverAfter?.user ?? null);
  const serverSysUs = delta(serverBefore?.system ?? null, serverAfter?.system ?? null);
  const serverTotalUs = serverUserUs === null || serverSysUs === null ? null : serverUserUs + serverSysUs;
  const serverUs = t.usesServer && serverTotalUs !== null && raw.ok > 0 ? serverTotalUs / raw.ok : null;
  const redisTotalUs = ctx.redis.local ? delta(redisBefore, redisAfter) : 0;
  // Busy CPU on this machine that is neither the server, this process nor (a local) Redis.
  const backgroundCores =
    machineUs === null || serverTotalUs === null || redisTotalUs === null
      ? null
      : Math.max(0, machineUs - serverTotalUs - (selfAfter - selfBefore) - redisTotalUs) / windowUs;
  return {
    workload: w.name,
    transport: t.name,
    entitiesPerRequest: w.entitiesPerRequest,
    featuresPerRow: w.features.length,
    requests: raw.ok,
    errors: raw.errors,
    seconds: raw.elapsedMs / 1000,
    rps: raw.ok / (raw.elapsedMs / 1000),
    latencyMs: raw.latency.summary(),
    serverCpuUsPerReq: serverUs,
    serverCores: t.usesServer && serverTotalUs !== null ? serverTotalUs / windowUs : null,
    serverSysShare: t.usesServer && serverTotalUs ? serverSysUs! / serverTotalUs : null,
    clientCpuUsPerReq: (selfAfter - selfBefore) / Math.max(1, raw.ok),
    redisCpuUsPerReq: perReq(redisBefore, redisAfter),
    respBytes: raw.ok === 0 ? 0 : raw.bytes / raw.ok,
    serverRssMiB: t.usesServer ? procRssMiB(server.pid) : null,
    backgroundCores,
  };
}
