/**
 * One bench run: find Redis (a private redis-server by default) -> write a temp feature repo
 * (project `bench_<pid>`) -> seed it through the product's writer (Redis's default hash encoding)
 * -> start `platter serve` and the naive baseline as children -> for each workload: CHECK every
 * target's answers against the seed, then warm up (unmeasured) and load each target closed-loop,
 * sampling server, client and Redis CPU around the window -> open-loop rate ramps on
 * `platter serve` and on the static server -> the open-loop generator's self-test -> reseed with
 * the other hash encoding forced and measure a few workloads again -> ratios, targets, tables,
 * results JSON -> stop the children and delete the project's keys (also on failure and Ctrl-C).
 */
import os from 'node:os';
import { relative } from 'node:path';
import type { Redis } from 'ioredis';
import { createEntityKeyEncoder } from '../../src/encoding/entity-key.js';
import { redisKey } from '../../src/encoding/redis-layout.js';
import { CheckFailure } from './check.js';
import { machineBusyMicros, procCpu, procRssMiB, redisCpuMicros, selfCpuMicros } from './cpu.js';
import { httpPost, openLoop, type OpenLoopResult } from './open-loop.js';
import {
  benchClient,
  findRedis,
  hashEncodingInfo,
  hashListpackEntries,
  infoField,
  redisInfo,
  usedMemory,
  type RedisTarget,
} from './redis.js';
import {
  renderClosedTable,
  renderEncodingTable,
  renderOpenTable,
  renderTargets,
  writeResults,
  type CpuColumns,
  type EncodingPass,
  type OpenRow,
  type ResultRow,
} from './report.js';
import { writeBenchRepo } from './repo.js';
import { REPO_ROOT, startServer, type ChildServer, type ServerProcess } from './server.js';
import { readSettings } from './settings.js';
import { quantileBoundMs, scrapeHistogram } from './server-latency.js';
import { startSlowServer } from './slow-server.js';
import { evaluateTargets } from './targets.js';
import type { BenchContext, PreparedLoad, RawLoad, Target } from './types.js';
import { dropProject, reencodeProject, seedRepo } from '../seed.js';
import {
  ENTITY,
  FEATURES_PER_VIEW,
  FIELDS_PER_HASH,
  VIEW_COUNT,
  poolMissShare,
  requestPool,
  selectWorkloads,
  workloadByName,
  type Workload,
} from '../workloads.js';
import { httpTarget, naiveTarget, startNaiveServer, startStaticServer, staticTarget } from '../http.js';
import { grpcH2Target, grpcTarget } from '../grpc.js';
import { redisAutopipeTarget, redisCeilingTarget, redisHgetallTarget, redisHmgetTarget, redisRespTarget } from '../redis-ceiling.js';

/** Every load target, in table order. */
export const TARGETS: readonly Target[] = [
  httpTarget,
  grpcTarget,
  grpcH2Target,
  naiveTarget,
  staticTarget,
  redisCeilingTarget,
  redisHmgetTarget,
  redisRespTarget,
  redisHgetallTarget,
  redisAutopipeTarget,
];

export interface RunOptions {
  readonly workloads: readonly string[];
  readonly transports: readonly string[];
}

/** Background CPU above this (in cores) marks a row as measured on a busy machine. */
const NOISY_CORES = 0.2;
/** ...and above this, the cell is measured again, once (at most BENCH_RETRY_NOISY cells per run). */
const RETRY_CORES = 0.3;

const runStart = performance.now();
const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - runStart) / 1000).toFixed(0).padStart(3)}s] ${msg}\n`);

function selectTargets(names: readonly string[]): Target[] {
  if (names.length === 0) return TARGETS.filter((t) => t.byDefault);
  if (names.includes('all')) return [...TARGETS];
  return names.map(targetByName);
}

function targetByName(n: string): Target {
  const t = TARGETS.find((x) => x.name === n);
  if (!t) throw new Error(`unknown transport '${n}'; known: ${TARGETS.map((x) => x.name).join(', ')}, all`);
  return t;
}

/** CPU sampled around a window: the server child (if any), this process, Redis, the whole machine. */
class CpuWindow {
  readonly #redisBefore: number | null;
  readonly #serverBefore;
  readonly #selfBefore = selfCpuMicros();
  readonly #machineBefore = machineBusyMicros();

  private constructor(
    private readonly pid: number | null,
    private readonly admin: Redis,
    private readonly redis: RedisTarget,
    redisBefore: number | null,
  ) {
    this.#redisBefore = redisBefore;
    this.#serverBefore = pid === null ? null : procCpu(pid);
  }

  static async start(pid: number | null, admin: Redis, redis: RedisTarget): Promise<CpuWindow> {
    return new CpuWindow(pid, admin, redis, redisCpuMicros(await redisInfo(admin, 'cpu')));
  }

  async stop(ok: number, elapsedMs: number): Promise<CpuColumns> {
    const machineAfter = machineBusyMicros();
    const selfAfter = selfCpuMicros();
    const serverAfter = this.pid === null ? null : procCpu(this.pid);
    const redisAfter = redisCpuMicros(await redisInfo(this.admin, 'cpu'));
    const windowUs = elapsedMs * 1000;
    const delta = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null ? null : b - a);
    const machineUs = delta(this.#machineBefore, machineAfter);
    const serverUserUs = delta(this.#serverBefore?.user, serverAfter?.user);
    const serverSysUs = delta(this.#serverBefore?.system, serverAfter?.system);
    const serverTotalUs = serverUserUs === null || serverSysUs === null ? null : serverUserUs + serverSysUs;
    const redisUs = delta(this.#redisBefore, redisAfter);
    const redisLocalUs = this.redis.local ? redisUs : 0;
    const selfUs = selfAfter - this.#selfBefore;
    // Busy CPU on this machine that is neither the measured server, this process nor (a local) Redis.
    const backgroundCores =
      machineUs === null || redisLocalUs === null || (this.pid !== null && serverTotalUs === null)
        ? null
        : Math.max(0, machineUs - (serverTotalUs ?? 0) - selfUs - redisLocalUs) / windowUs;
    return {
      serverCpuUsPerReq: serverTotalUs !== null && ok > 0 ? serverTotalUs / ok : null,
      serverCores: serverTotalUs !== null ? serverTotalUs / windowUs : null,
      serverSysShare: serverTotalUs ? serverSysUs! / serverTotalUs : null,
      clientCpuUsPerReq: selfUs / Math.max(1, ok),
      redisCpuUsPerReq: redisUs === null || ok === 0 ? null : redisUs / ok,
      serverRssMiB: this.pid === null ? null : procRssMiB(this.pid),
      backgroundCores,
    };
  }
}

/**
 * Waits (up to `maxMs`) until the given server and Redis are idle: an overloaded cell leaves work
 * queued behind it (Redis still runs the commands of abandoned requests), which would otherwise
 * land in the next cell's window.
 */
async function waitIdle(pids: readonly (number | null)[], admin: Redis, maxMs = 5000): Promise<number> {
  const t0 = performance.now();
  const busy = async () => {
    const cpu = (): number => {
      let sum = 0;
      for (const pid of pids) {
        const c = pid === null ? null : procCpu(pid);
        if (c) sum += c.user + c.system;
      }
      return sum;
    };
    const a = cpu();
    const ra = redisCpuMicros(await redisInfo(admin, 'cpu')) ?? 0;
    await new Promise((r) => setTimeout(r, 100));
    const b = cpu();
    const rb = redisCpuMicros(await redisInfo(admin, 'cpu')) ?? 0;
    return (b - a) / 100_000 > 0.15 || (rb - ra) / 100_000 > 0.15;
  };
  while (performance.now() - t0 < maxMs && (await busy()));
  return performance.now() - t0;
}

interface Pass {
  readonly encoding: string;
}

export async function runBench(opts: RunOptions): Promise<number> {
  const settings = readSettings();
  const workloads = selectWorkloads(opts.workloads);
  const targets = selectTargets(opts.transports);
  const startedAt = new Date();
  const loadAvgAtStart = os.loadavg();
  const t0 = performance.now();
  const elapsedS = () => (performance.now() - t0) / 1000;

  const redis = await findRedis(settings.redisUrl, settings.redisMode);
  const admin = benchClient(redis);
  const redisVersion = infoField(await redisInfo(admin, 'server'), 'redis_version');
  const project = `bench_${process.pid}`;
  const repo = writeBenchRepo(project, redis);
  const baseSeconds = Math.floor(Date.now() / 1000);
  let server: ServerProcess | null = null;
  let naive: ChildServer | null = null;
  let staticServer: ChildServer | null = null;
  let restoreConfig: (() => Promise<void>) | null = null;
  const prepared: PreparedLoad[] = [];

  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const p of prepared.splice(0)) await p.close().catch(() => undefined);
      await server?.stop().catch(() => undefined);
      await naive?.stop().catch(() => undefined);
      await staticServer?.stop().catch(() => undefined);
      await restoreConfig?.().catch(() => undefined);
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

  const sampleKey = redisKey(createEntityKeyEncoder([ENTITY.joinKey], 3).encode([{ type: 4, value: 1 }]), project);
  // used_memory before the first seed: each pass's dataset is used_memory after it minus this.
  let memBaseline: number | null = null;
  const describe = async (pass: 'default' | 'forced', setting: string, method: EncodingPass['method'], ms: number, rowsWritten: number) => {
    const after = await usedMemory(admin);
    const info = await hashEncodingInfo(admin, sampleKey, await hashListpackEntries(admin), memBaseline === null || after === null ? null : after - memBaseline);
    log(
      `${method === 'writer' ? `seeded ${rowsWritten} rows (${settings.entities} entities x ${VIEW_COUNT} views)` : `re-encoded the hashes with DUMP/RESTORE`} in ${(ms / 1000).toFixed(1)} s; ` +
        `hash encoding ${info.objectEncoding} (${setting}), ${info.fieldsPerHash} fields, ${info.bytesPerHash} bytes per hash`,
    );
    return { pass, info, setting, method, seedMs: Math.round(ms), rowsWritten };
  };
  const seedPass = async (pass: 'default' | 'forced', setting: string): Promise<EncodingPass> => {
    memBaseline ??= await usedMemory(admin);
    const seeded = await seedRepo(repo.dir, settings.entities, baseSeconds);
    return describe(pass, setting, 'writer', seeded.ms, seeded.rowsWritten);
  };

  try {
    log(`redis ${redisVersion ?? '?'} at ${redis.host}:${redis.port} (${redis.origin}); project ${project}; repo ${repo.dir}`);
    const listpack = await hashListpackEntries(admin);
    const encodings: EncodingPass[] = [await seedPass('default', listpack ? `${listpack[0]} ${listpack[1]} (as found)` : '?')];
    const passA: Pass = { encoding: encodings[0]!.info.objectEncoding ?? '?' };

    server = await startServer({ repoDir: repo.dir, nodeArgs: settings.serverNodeArgs, workers: settings.serverWorkers });
    log(`platter serve pid ${server.pid}: http ${server.httpUrl}, grpc ${server.grpcAddress}`);
    if (targets.some((t) => t.needs === 'naive')) {
      naive = await startNaiveServer({ redis, project });
      log(`naive baseline pid ${naive.pid}: ${naive.httpUrl}`);
    }
    if (targets.some((t) => t.needs === 'static')) {
      staticServer = await startStaticServer();
      log(`static server pid ${staticServer.pid}: ${staticServer.httpUrl}`);
    }
    const ctx: BenchContext = { settings, server, naive, staticServer, redis, project, repoDir: repo.dir, entities: settings.entities, baseSeconds };
    const pools = new Map<string, number[][]>();
    const poolOf = (w: Workload) => {
      let p = pools.get(w.name);
      if (!p) pools.set(w.name, (p = requestPool(w, settings.poolSize, settings.entities, settings.seed)));
      return p;
    };

    const prepareAll = async (w: Workload, ts: readonly Target[]): Promise<PreparedLoad[]> => {
      const loads: PreparedLoad[] = [];
      for (const t of ts) {
        const p = await t.prepare(ctx, w, poolOf(w));
        prepared.push(p);
        loads.push(p);
      }
      for (const p of loads) await p.check();
      log(`${w.name}: responses match the seed on ${ts.map((t) => t.name).join(', ')}`);
      return loads;
    };
    const closeAll = async (loads: readonly PreparedLoad[]) => {
      for (const p of loads) {
        await p.close();
        prepared.splice(prepared.indexOf(p), 1);
      }
    };

    let retriesLeft = settings.retryNoisy;
    const servers = () => [server!.pid, naive?.pid ?? null, staticServer?.pid ?? null];
    const closedCell = async (w: Workload, t: Target, load: PreparedLoad, pass: Pass): Promise<ResultRow> => {
      await waitIdle(servers(), admin);
      if (settings.warmupS > 0) await load.run(settings.warmupS * 1000);
      let best: ResultRow | null = null;
      for (let attempt = 1; ; attempt++) {
        const cpu = await CpuWindow.start(load.serverPid, admin, redis);
        const raw: RawLoad = await load.run(settings.durationS * 1000);
        const row: ResultRow = {
          workload: w.name,
          transport: t.name,
          encoding: pass.encoding,
          entitiesPerRequest: w.entitiesPerRequest,
          featuresPerRow: w.features.length,
          requests: raw.ok,
          errors: raw.errors,
          seconds: raw.elapsedMs / 1000,
          rps: raw.ok / (raw.elapsedMs / 1000),
          latencyMs: raw.latency.summary(),
          respBytes: raw.ok === 0 ? 0 : raw.bytes / raw.ok,
          attempts: attempt,
          firstError: raw.firstError ?? null,
          ...(await cpu.stop(raw.ok, raw.elapsedMs)),
        };
        if (best === null || (row.backgroundCores ?? 0) < (best.backgroundCores ?? 0)) best = { ...row, attempts: attempt };
        const bg = row.backgroundCores ?? 0;
        if (bg <= RETRY_CORES || attempt > 1 || retriesLeft <= 0) break;
        retriesLeft--;
        log(`${w.name} ${t.name}: other processes used ${bg.toFixed(2)} cores; measuring again`);
      }
      const row = best!;
      log(
        `${w.name} [${pass.encoding}] ${t.name}: ${Math.round(row.rps)} req/s, p50 ${row.latencyMs.p50.toFixed(3)} ms, p99 ${row.latencyMs.p99.toFixed(3)} ms` +
          (row.serverCpuUsPerReq !== null ? `, srv ${row.serverCpuUsPerReq.toFixed(0)} µs/req` : `, cli ${row.clientCpuUsPerReq.toFixed(0)} µs/req`) +
          (row.errors > 0 ? `, ${row.errors} errors (first: ${row.firstError})` : '') +
          (row.backgroundCores !== null && row.backgroundCores > NOISY_CORES
            ? ` (WARNING: other processes used ${row.backgroundCores.toFixed(2)} cores during this window)`
            : ''),
      );
      return row;
    };

    const openCell = async (w: Workload, name: string, pid: number | null, pass: Pass, rate: number, run: () => Promise<OpenLoopResult>): Promise<OpenRow> => {
      await waitIdle(servers(), admin);
      const platter = name === 'http' ? server! : null;
      const histBefore = platter ? await scrapeHistogram(platter.adminUrl, 'http') : null;
      const cpu = await CpuWindow.start(pid, admin, redis);
      const r = await run();
      const cols = await cpu.stop(r.completed, r.elapsedMs);
      const histAfter = platter ? await scrapeHistogram(platter.adminUrl, 'http') : null;
      const serverQuantiles =
        histBefore && histAfter ? { serverP50Ms: quantileBoundMs(histBefore, histAfter, 0.5), serverP99Ms: quantileBoundMs(histBefore, histAfter, 0.99) } : {};
      const row: OpenRow = {
        workload: w.name,
        transport: name,
        encoding: pass.encoding,
        targetRps: rate,
        achievedRps: r.achievedRps,
        scheduled: r.scheduled,
        completed: r.completed,
        errors: r.errors,
        unfinished: r.unfinished,
        latencyMs: r.latency.summary(),
        sendLagMs: r.sendLag,
        firstThirdP50Ms: r.firstThird.p50,
        lastThirdP50Ms: r.lastThird.p50,
        overloaded: r.overloaded,
        verdict: r.verdict,
        respBytes: r.completed === 0 ? 0 : r.bytes / r.completed,
        perSecond: r.perSecond,
        ...serverQuantiles,
        ...cols,
      };
      log(
        `open ${w.name} ${name} @${rate}/s: achieved ${Math.round(r.achievedRps)}/s, p50 ${row.latencyMs.p50.toFixed(3)} ms, p99 ${row.latencyMs.p99.toFixed(3)} ms, ` +
          `${r.overloaded ? `OVERLOADED (${r.verdict})` : 'kept up'}` +
          (row.backgroundCores !== null && row.backgroundCores > NOISY_CORES ? ` (WARNING: other processes used ${row.backgroundCores.toFixed(2)} cores)` : ''),
      );
      return row;
    };

    // 1. Closed loop, every selected workload x target, default hash encoding.
    const rows: ResultRow[] = [];
    for (const w of workloads) {
      const loads = await prepareAll(w, targets);
      for (const [i, t] of targets.entries()) rows.push(await closedCell(w, t, loads[i]!, passA));
      await closeAll(loads);
    }

    // 2. Open-loop rate ramps on platter serve and the static server.
    const openRows: OpenRow[] = [];
    const openTargets = targets.filter((t) => t === httpTarget || t === staticTarget);
    for (const ramp of settings.openRamps) {
      if (!workloads.some((w) => w.name === ramp.workload) || openTargets.length === 0) continue;
      const w = workloadByName(ramp.workload);
      const loads = await prepareAll(w, openTargets);
      for (const load of loads) await load.openLoop!(ramp.rates[0]!, 500); // warm-up, not recorded
      for (const rate of ramp.rates) {
        for (const [i, t] of openTargets.entries()) {
          const load = loads[i]!;
          openRows.push(await openCell(w, t.name, load.serverPid, passA, rate, () => load.openLoop!(rate, settings.openDurationS * 1000)));
        }
      }
      await closeAll(loads);
    }

    // 3. The open-loop generator's self-test: a server with a known capacity, below and above it.
    if (settings.selfTest) openRows.push(...(await selfTest(admin, redis, passA)));

    // 4. The other hash encoding, forced, for a few workloads.
    const encWorkloads = settings.encodingWorkloads.filter((n) => workloads.some((w) => w.name === n)).map(workloadByName);
    const encTargets = settings.encodingTargets.map(targetByName).filter((t) => targets.includes(t));
    if (encWorkloads.length > 0 && encTargets.length > 0 && listpack !== null) {
      const [name, value] = listpack;
      const forced = passA.encoding === 'hashtable' ? Math.max(512, FIELDS_PER_HASH + 1) : 0;
      log(`second pass: ${name} ${forced} (was ${value}) to force ${passA.encoding === 'hashtable' ? 'listpack' : 'hashtable'}`);
      restoreConfig = async () => {
        await admin.call('CONFIG', 'SET', name, String(value));
        restoreConfig = null;
      };
      const setting = `${name} ${forced}`;
      const set = await admin.call('CONFIG', 'SET', name, String(forced)).then(
        () => true,
        (err: Error) => (log(`cannot CONFIG SET ${name} (${err.message}); no second hash-encoding pass`), false),
      );
      if (set) {
        try {
          if (!settings.encodingReseed) {
            const r = await reencodeProject(admin, project);
            const info = await describe('forced', setting, 'dump-restore', r.ms, 0);
            if (info.info.objectEncoding !== passA.encoding) encodings.push(info);
            else log('DUMP/RESTORE kept the encoding; reseeding through the writer instead');
          }
          if (encodings.length === 1) {
            await dropProject(admin, project);
            encodings.push(await seedPass('forced', setting));
          }
        } finally {
          // Reads never convert a hash, so the keys keep the forced encoding after the restore.
          await restoreConfig();
        }
      }
      const passB: Pass | null = encodings[1] ? { encoding: encodings[1].info.objectEncoding ?? '?' } : null;
      if (passB && passB.encoding === passA.encoding) log(`WARNING: the second pass has the same encoding (${passB.encoding})`);
      for (const w of passB ? encWorkloads : []) {
        const loads = await prepareAll(w, encTargets);
        for (const [i, t] of encTargets.entries()) rows.push(await closedCell(w, t, loads[i]!, passB!));
        await closeAll(loads);
      }
    }

    addRatios(rows, openRows);
    const targetChecks = evaluateTargets(rows, openRows, passA.encoding);
    const finishedAt = new Date();
    const path = writeResults(
      {
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        wallSeconds: Math.round(elapsedS() * 10) / 10,
        argv: process.argv.slice(2),
        loadAvgAtStart,
        settings,
        redis: { version: redisVersion, origin: redis.origin, address: `${redis.host}:${redis.port}` },
        seed: { entities: settings.entities, views: VIEW_COUNT, featuresPerView: FEATURES_PER_VIEW, fieldsPerHash: FIELDS_PER_HASH },
        project,
        workloads: workloads.map((w) => ({ name: w.name, description: w.description, missShare: Math.round(poolMissShare(poolOf(w), settings.entities) * 1000) / 1000 })),
        encodings,
        targets: targetChecks,
      },
      rows,
      openRows,
    );
    const out = [
      `Closed loop (${settings.connections} connections, ${settings.durationS} s per cell; ratios against the same workload and encoding in this run)`,
      renderClosedTable(rows),
    ];
    if (openRows.length > 0) {
      out.push('', `Open loop (fixed rate, latency from each request's scheduled send time; ${settings.openDurationS} s per cell)`, renderOpenTable(openRows));
    }
    out.push('', 'Redis hash encoding', renderEncodingTable(encodings));
    if (targetChecks.length > 0) out.push('', 'Targets', renderTargets(targetChecks));
    process.stdout.write(`${out.join('\n')}\n`);
    log(`results: ${relative(REPO_ROOT, path)}; ${elapsedS().toFixed(1)} s in the bench`);
    const failed = [...rows, ...openRows.filter((r) => r.workload !== 'selftest')].filter((r) => r.errors > 0);
    if (failed.length > 0) {
      log(
        `WARNING: requests failed under load in ${failed.map((r) => `${r.workload}/${r.encoding}/${r.transport}${'targetRps' in r ? `@${r.targetRps}` : ''} (${r.errors})`).join(', ')}` +
          (settings.failOnErrors ? '' : '; they are counted in the tables (BENCH_FAIL_ON_ERRORS=1 makes this exit 1)'),
      );
    }
    return failed.length > 0 && settings.failOnErrors ? 1 : 0;
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

/**
 * The open-loop generator against a server that spends 10 ms of CPU per request (at most ~100/s):
 * at 25/s latency must stay flat, at 200/s it must grow and the verdict must say overloaded.
 */
export async function selfTest(admin: Redis | null, redis: RedisTarget | null, pass: Pass = { encoding: '-' }): Promise<OpenRow[]> {
  const rows: OpenRow[] = [];
  const slow = await startSlowServer({ busyMs: 10 });
  try {
    for (const [rate, ms] of [
      [25, 2400],
      [200, 1500],
    ] as const) {
      const cpu = admin && redis ? await CpuWindow.start(null, admin, redis) : null;
      const r = await openLoop({
        host: '127.0.0.1',
        port: slow.port,
        requests: [httpPost('127.0.0.1', slow.port, '/', '{}')],
        rate,
        durationMs: ms,
        connections: 16,
        drainMs: 4000,
      });
      const cols: CpuColumns = cpu
        ? await cpu.stop(r.completed, r.elapsedMs)
        : { serverCpuUsPerReq: null, serverCores: null, serverSysShare: null, clientCpuUsPerReq: 0, redisCpuUsPerReq: null, serverRssMiB: null, backgroundCores: null };
      const expectOverload = rate > 100;
      rows.push({
        workload: 'selftest',
        transport: 'slow-10ms',
        encoding: pass.encoding,
        targetRps: rate,
        achievedRps: r.achievedRps,
        scheduled: r.scheduled,
        completed: r.completed,
        errors: r.errors,
        unfinished: r.unfinished,
        latencyMs: r.latency.summary(),
        sendLagMs: r.sendLag,
        firstThirdP50Ms: r.firstThird.p50,
        lastThirdP50Ms: r.lastThird.p50,
        overloaded: r.overloaded,
        verdict: r.verdict,
        respBytes: r.completed === 0 ? 0 : r.bytes / r.completed,
        perSecond: r.perSecond,
        ...cols,
      });
      const okVerdict = r.overloaded === expectOverload && (!expectOverload || r.lastThird.p50 > 2 * r.firstThird.p50);
      log(
        `self-test @${rate}/s against a 10 ms/request server: p50 ${r.firstThird.p50.toFixed(1)} -> ${r.lastThird.p50.toFixed(1)} ms (first -> last third), ` +
          `${r.overloaded ? 'overloaded' : 'kept up'}: ${okVerdict ? 'as expected' : 'UNEXPECTED (is the machine very busy?)'}`,
      );
    }
  } finally {
    await slow.close();
  }
  return rows;
}

const key = (workload: string, encoding: string, transport: string) => `${workload}|${encoding}|${transport}`;

function addRatios(rows: ResultRow[], openRows: OpenRow[]): void {
  const by = new Map(rows.map((r) => [key(r.workload, r.encoding, r.transport), r]));
  const div = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || b === 0 ? null : a / b);
  for (const r of rows) {
    const ref = (t: string) => by.get(key(r.workload, r.encoding, t));
    // The static server is a reference itself: no ratios on its rows.
    const isServer = r.serverCpuUsPerReq !== null && r.transport !== 'static';
    r.ratios = {
      cpuVsIoredis: isServer ? div(r.serverCpuUsPerReq, ref('redis-hmget')?.clientCpuUsPerReq) : null,
      cpuVsResp: isServer ? div(r.serverCpuUsPerReq, ref('redis-resp')?.clientCpuUsPerReq) : null,
      rpsVsNaive: isServer && r.transport !== 'naive' ? div(r.rps, ref('naive')?.rps) : null,
      p99VsStatic: isServer && r.transport !== 'static' ? div(r.latencyMs.p99, ref('static')?.latencyMs.p99) : null,
    };
  }
  const open = new Map(openRows.map((r) => [`${key(r.workload, r.encoding, r.transport)}|${r.targetRps}`, r]));
  for (const r of openRows) {
    if (r.transport === 'static' || r.workload === 'selftest') continue;
    r.p99VsStatic = div(r.latencyMs.p99, open.get(`${key(r.workload, r.encoding, 'static')}|${r.targetRps}`)?.latencyMs.p99);
  }
}

