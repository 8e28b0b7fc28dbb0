/**
 * The run's output: one table on stdout and `bench/results/<time>-<commit>.json` holding the
 * machine, Node, Redis, commit, settings and every row, so a quoted number can be traced to the
 * run and command that produced it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { LatencySummary } from './latency.js';
import type { Settings } from './settings.js';
import { REPO_ROOT } from './server.js';

export interface ResultRow {
  readonly workload: string;
  readonly transport: string;
  readonly entitiesPerRequest: number;
  readonly featuresPerRow: number;
  /** Successful requests in the measured window. */
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  /** Milliseconds. */
  readonly latencyMs: LatencySummary;
  /** Server child CPU (all threads) per request; null for rows that do not go through the server. */
  readonly serverCpuUsPerReq: number | null;
  /** Server CPU over the window as cores in use (1.0 = one core busy). */
  readonly serverCores: number | null;
  /** Share of the server's CPU spent in the kernel (syscalls), 0..1. */
  readonly serverSysShare: number | null;
  /** This process's CPU (the load generator / ceiling client) per request. */
  readonly clientCpuUsPerReq: number;
  /** Redis's CPU per request (INFO cpu); includes anything else using the same Redis. */
  readonly redisCpuUsPerReq: number | null;
  /** Mean response bytes per request (see README for what each transport counts). */
  readonly respBytes: number;
  readonly serverRssMiB: number | null;
  /**
   * Cores other processes kept busy during the window (machine busy time minus server, bench
   * process and a local Redis). Above ~0.2 on a small machine the row is contaminated.
   */
  readonly backgroundCores: number | null;
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
  readonly seed: { readonly entities: number; readonly rowsWritten: number; readonly ms: number };
  readonly project: string;
  readonly workloads: readonly { readonly name: string; readonly description: string }[];
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

const fmt = (v: number | null, digits = 0): string =>
  v === null || !Number.isFinite(v) ? '-' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function renderTable(rows: readonly ResultRow[]): string {
  const head = ['workload', 'transport', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'srv CPU µs/req', 'srv cores', 'srv sys%', 'cli CPU µs/req', 'redis CPU µs/req', 'bg cores', 'resp bytes', 'errors'];
  const body = rows.map((r) => [
    r.workload,
    r.transport,
    fmt(r.rps),
    fmt(r.latencyMs.p50, 3),
    fmt(r.latencyMs.p90, 3),
    fmt(r.latencyMs.p99, 3),
    fmt(r.latencyMs.p999, 3),
    fmt(r.serverCpuUsPerReq, 1),
    fmt(r.serverCores, 2),
    r.serverSysShare === null ? '-' : `${Math.round(r.serverSysShare * 100)}%`,
    fmt(r.clientCpuUsPerReq, 1),
    fmt(r.redisCpuUsPerReq, 1),
    fmt(r.backgroundCores, 2),
    fmt(r.respBytes),
    fmt(r.errors),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
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

/** Writes the results file and returns its path. */
export function writeResults(info: RunInfo, rows: readonly ResultRow[]): string {
  const commit = git(['rev-parse', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  // The server runs from dist/, built from the working tree: name any src/ file that differs from the commit.
  const srcChanges = git(['status', '--porcelain', '--', 'src']);
  const doc = {
    schema: 1,
    ...info,
    settings: { ...info.settings, redisUrl: info.settings.redisUrl === null ? null : maskPassword(info.settings.redisUrl) },
    commit,
    commitDirty: dirty === null ? null : dirty !== '',
    srcChanges: srcChanges === null ? null : srcChanges.split('\n').filter(Boolean),
    node: process.version,
    v8: process.versions.v8,
    machine: machineInfo(),
    rows,
  };
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = info.startedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const path = join(dir, `${stamp}-${commit ? commit.slice(0, 7) : 'nocommit'}.json`);
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
  return path;
}
