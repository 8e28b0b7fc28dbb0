/**
 * The run's output: tables on stdout (closed loop with ratios to the same run's reference rows,
 * open loop, hash encodings, targets) and `bench/results/<time>-<commit>.json` holding the
 * machine, Node, Redis, commit, settings and every row, so a quoted number can be traced to the
 * run and command that produced it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { LatencySummary } from './latency.js';
import type { HashEncodingInfo } from './redis.js';
import type { Settings } from './settings.js';
import { REPO_ROOT } from './server.js';

/** CPU accounting of one measured window. */
export interface CpuColumns {
  /** Server child CPU (all threads) per request; null for rows without a server (Redis ceilings). */
  readonly serverCpuUsPerReq: number | null;
  /** Server CPU over the window as cores in use (1.0 = one core busy). */
  readonly serverCores: number | null;
  /** Share of the server's CPU spent in the kernel (syscalls), 0..1. */
  readonly serverSysShare: number | null;
  /** This process's CPU (the load generator / Redis client) per request. */
  readonly clientCpuUsPerReq: number;
  /** Redis's CPU per request (INFO cpu); includes anything else using the same Redis. */
  readonly redisCpuUsPerReq: number | null;
  readonly serverRssMiB: number | null;
  /**
   * Cores other processes kept busy during the window (machine busy time minus server, bench
   * process and a local Redis). Above ~0.2 on a small machine the row is contaminated.
   */
  readonly backgroundCores: number | null;
}

/** Ratios to the reference rows of the same workload and hash encoding in the same run. */
export interface Ratios {
  /** Server CPU / the ioredis pipeline's (redis-hmget) client CPU. */
  readonly cpuVsIoredis: number | null;
  /** Server CPU / the minimal RESP client's (redis-resp) client CPU. */
  readonly cpuVsResp: number | null;
  /** req/s / the naive baseline's req/s. */
  readonly rpsVsNaive: number | null;
  /** p99 / the static server's p99. */
  readonly p99VsStatic: number | null;
}

export interface ResultRow extends CpuColumns {
  readonly workload: string;
  readonly transport: string;
  /** Redis hash encoding of the seeded keys: 'hashtable' or 'listpack'. */
  readonly encoding: string;
  readonly entitiesPerRequest: number;
  readonly featuresPerRow: number;
  /** Successful requests in the measured window. */
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  /** Milliseconds. */
  readonly latencyMs: LatencySummary;
  /** Mean response bytes per request (see README for what each transport counts). */
  readonly respBytes: number;
  /** How many times the cell was measured (a noisy window is measured again; the quietest is kept). */
  readonly attempts: number;
  /** The first failure's message when errors > 0. */
  readonly firstError: string | null;
  ratios?: Ratios;
}

export interface OpenRow extends CpuColumns {
  readonly workload: string;
  readonly transport: string;
  readonly encoding: string;
  readonly targetRps: number;
  readonly achievedRps: number;
  readonly scheduled: number;
  readonly completed: number;
  readonly errors: number;
  readonly unfinished: number;
  /** From each request's scheduled time (ms). */
  readonly latencyMs: LatencySummary;
  /** Scheduled time to send (ms; negative = sent within the 1 ms lookahead). */
  readonly sendLagMs: LatencySummary;
  readonly firstThirdP50Ms: number;
  readonly lastThirdP50Ms: number;
  readonly overloaded: boolean;
  readonly verdict: string;
  readonly respBytes: number;
  readonly perSecond: readonly { readonly second: number; readonly completed: number; readonly p50: number; readonly p99: number }[];
  p99VsStatic?: number | null;
  /** Platter only: the bucket bounds (ms) under which half and 99% of the window's requests finished, by the server's own clock. */
  readonly serverP50Ms?: number | null;
  readonly serverP99Ms?: number | null;
}

export interface EncodingPass {
  /** 'default' (Redis's own setting) or 'forced' (the other encoding, forced for the second pass). */
  readonly pass: 'default' | 'forced';
  readonly info: HashEncodingInfo;
  /** The threshold set for this pass (forced) or found (default). */
  readonly setting: string;
  /** How the pass's hashes were written: seeded through the product's writer, or the first pass's hashes re-encoded with DUMP/RESTORE. */
  readonly method: 'writer' | 'dump-restore';
  /** Time to seed (writer) or re-encode (dump-restore), ms. */
  readonly seedMs: number;
  readonly rowsWritten: number;
}

export interface TargetCheck {
  readonly id: string;
  readonly description: string;
  readonly value: string;
  /** null when the run did not measure what the target needs. */
  readonly met: boolean | null;
}

export interface RunInfo {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallSeconds: number;
  readonly argv: readonly string[];
  /** os.loadavg() before anything started: high values mean a busy machine. */
  readonly loadAvgAtStart: readonly number[];
  readonly settings: Settings;
  readonly redis: { readonly version: string | null; readonly origin: string; readonly address: string };
  readonly seed: { readonly entities: number; readonly views: number; readonly featuresPerView: number; readonly fieldsPerHash: number };
  readonly project: string;
  readonly workloads: readonly { readonly name: string; readonly description: string; readonly missShare: number }[];
  readonly encodings: readonly EncodingPass[];
  readonly targets: readonly TargetCheck[];
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
  } catch {
    return null;
  }
}

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAvgAtEnd: os.loadavg(),
  };
}

const fmt = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : `${v < 10 ? v.toFixed(2) : v.toFixed(1)}x`);

function table(head: readonly string[], body: readonly string[][], leftCols: number): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < leftCols ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function renderClosedTable(rows: readonly ResultRow[]): string {
  const head = [
    'workload', 'enc', 'transport', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'srv µs/req', 'cli µs/req', 'redis µs/req',
    'bg cores', 'resp bytes', 'err', 'srv÷ioredis', 'srv÷resp', 'vs naive', 'p99÷static',
  ];
  const body = rows.map((r) => [
    r.workload,
    r.encoding,
    r.transport,
    fmt(r.rps),
    fmt(r.latencyMs.p50, 3),
    fmt(r.latencyMs.p90, 3),
    fmt(r.latencyMs.p99, 3),
    fmt(r.latencyMs.p999, 3),
    fmt(r.serverCpuUsPerReq, 1),
    fmt(r.clientCpuUsPerReq, 1),
    fmt(r.redisCpuUsPerReq, 1),
    fmt(r.backgroundCores, 2),
    fmt(r.respBytes),
    fmt(r.errors),
    ratio(r.ratios?.cpuVsIoredis),
    ratio(r.ratios?.cpuVsResp),
    ratio(r.ratios?.rpsVsNaive),
    ratio(r.ratios?.p99VsStatic),
  ]);
  return table(head, body, 3);
}

export function renderOpenTable(rows: readonly OpenRow[]): string {
  const head = [
    'workload', 'transport', 'rate/s', 'achieved/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'lag p99 ms', 'p50 1st→3rd ms',
    'srv µs/req', 'srv p50/p99 ≤ ms', 'bg cores', 'p99÷static', 'verdict',
  ];
  const body = rows.map((r) => [
    r.workload,
    r.transport,
    fmt(r.targetRps),
    fmt(r.achievedRps),
    fmt(r.latencyMs.p50, 3),
    fmt(r.latencyMs.p90, 3),
    fmt(r.latencyMs.p99, 3),
    fmt(r.latencyMs.p999, 3),
    fmt(r.latencyMs.max, 1),
    fmt(r.sendLagMs.p99, 2),
    `${fmt(r.firstThirdP50Ms, 2)}→${fmt(r.lastThirdP50Ms, 2)}`,
    fmt(r.serverCpuUsPerReq, 1),
    r.serverP99Ms == null ? '-' : `${fmt(r.serverP50Ms ?? null, 2)}/${fmt(r.serverP99Ms, 2)}`,
    fmt(r.backgroundCores, 2),
    ratio(r.p99VsStatic),
    r.overloaded ? `OVERLOADED: ${r.verdict}` : 'ok',
  ]);
  return table(head, body, 2);
}

export function renderEncodingTable(passes: readonly EncodingPass[]): string {
  const head = ['pass', 'OBJECT ENCODING', 'setting', 'written by', 'fields/hash', 'bytes/hash', 'dataset MiB', 'seconds'];
  const body = passes.map((p) => [
    p.pass,
    p.info.objectEncoding ?? '?',
    p.setting,
    p.method === 'writer' ? 'product writer' : 'DUMP/RESTORE',
    fmt(p.info.fieldsPerHash),
    fmt(p.info.bytesPerHash),
    fmt(p.info.datasetMiB, 1),
    fmt(p.seedMs / 1000, 1),
  ]);
  return table(head, body, 4);
}

export function renderTargets(targets: readonly TargetCheck[]): string {
  return targets.map((t) => `${t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS'}  ${t.description}: ${t.value}`).join('\n');
}

function maskPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable>';
  }
}

/** What was measured: the commit, whether the work tree differed from it, Node and the machine. */
export interface BuildInfo {
  readonly commit: string | null;
  readonly commitDirty: boolean | null;
  /** src/ files that differ from the commit (the server runs from dist/, built from the work tree). */
  readonly srcChanges: string[] | null;
  readonly node: string;
  readonly v8: string;
  readonly machine: Record<string, unknown>;
}

export function buildInfo(): BuildInfo {
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  const srcChanges = git(['status', '--porcelain', '--', 'src']);
  return {
    commit: git(['rev-parse', 'HEAD']),
    commitDirty: dirty === null ? null : dirty !== '',
    srcChanges: srcChanges === null ? null : srcChanges.split('\n').filter(Boolean),
    node: process.version,
    v8: process.versions.v8,
    machine: machineInfo(),
  };
}

/** Writes `doc` as bench/results/<start time>-<kind->-<commit>.json and returns the path. */
export function writeResultsFile(startedAt: string, kind: string | null, commit: string | null, doc: object): string {
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const path = join(dir, `${stamp}-${kind === null ? '' : `${kind}-`}${commit ? commit.slice(0, 7) : 'nocommit'}.json`);
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
  return path;
}

/** Writes the results file and returns its path. */
export function writeResults(info: RunInfo, rows: readonly ResultRow[], openRows: readonly OpenRow[]): string {
  const build = buildInfo();
  const doc = {
    schema: 2,
    ...info,
    settings: { ...info.settings, redisUrl: info.settings.redisUrl === null ? null : maskPassword(info.settings.redisUrl) },
    ...build,
    rows,
    openLoop: openRows,
  };
  return writeResultsFile(info.startedAt, null, build.commit, doc);
}
