/**
 * Private `redis-server` processes for tests: one server on a free port, or a whole Redis Cluster
 * joined by `redis-cli --cluster create`. Nothing is persisted, and every process is SIGKILLed when
 * the test process exits, even if the test never stops it.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, reachable } from './services.js';

const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RedisServerProcess {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly proc: ChildProcess;
  /** stdout+stderr so far */
  output(): string;
  /** SIGKILL and wait for exit; idempotent */
  stop(): Promise<void>;
}

/** redis-server exited (or could not be run) before it was ready. */
export class RedisServerExited extends Error {
  constructor(
    readonly output: string,
    readonly exitCode: number | null,
  ) {
    super(`redis-server exited at start-up (exit code ${exitCode}):\n${output}`);
    this.name = 'RedisServerExited';
  }
}

export interface StartRedisServerOptions {
  /** Appended last, so they override the defaults. With `port`, they must contain the port options. */
  args?: string[];
  /** Listen here instead of a free port; `--port` is then not added (e.g. TLS-only servers use `--port 0`). */
  port?: number;
  /** Default: something accepts TCP connections on the port. */
  ready?: (port: number) => Promise<boolean>;
  timeoutMs?: number;
  /** Let the test process exit while the server runs (a server shared by the whole process). */
  unref?: boolean;
}

export async function startRedisServer(opts: StartRedisServerOptions = {}): Promise<RedisServerProcess> {
  const port = opts.port ?? (await freePort());
  const ready = opts.ready ?? ((p: number) => reachable(HOST, p));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const args = [
    ...(opts.port === undefined ? ['--port', String(port)] : []),
    ...['--bind', HOST, '--save', '', '--appendonly', 'no'],
    ...(opts.args ?? []),
  ];

  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  for (const stream of [proc.stdout, proc.stderr]) {
    stream?.on('data', (d: Buffer) => (out += d.toString()));
    // The pipes are sockets: an unreferenced child would still be held alive by them.
    if (opts.unref) (stream as Socket | null)?.unref();
  }
  if (opts.unref) proc.unref();

  let gone = false;
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    // A spawn failure (ENOENT) emits 'error' and never 'exit'.
    proc.on('error', (err) => {
      if (proc.pid === undefined) {
        out += `could not run redis-server: ${err.message}\n`;
        resolve();
      }
    });
  });
  void exited.then(() => (gone = true));

  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  const stop = async () => {
    process.off('exit', kill);
    if (!gone) {
      proc.kill('SIGKILL');
      await exited;
    }
  };
  const server: RedisServerProcess = { host: HOST, port, proc, output: () => out, stop };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) {
      process.off('exit', kill);
      throw new RedisServerExited(out, proc.exitCode);
    }
    if (await ready(port).catch(() => false)) return server;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${port} not ready within ${timeoutMs} ms:\n${out}`);
    }
    await sleep(50);
  }
}

export interface RedisClusterProcess {
  readonly masters: RedisServerProcess[];
  readonly replicas: RedisServerProcess[];
  /** every node, masters first */
  readonly nodes: RedisServerProcess[];
  /** seed addresses for a cluster client: the masters */
  readonly seeds: { host: string; port: number }[];
  stop(): Promise<void>;
}

const SLOTS = 16384;
/**
 * Redis 7's CLUSTER SLOTS leaves out a replica until its replication offset is non-zero. A master
 * first waits repl-diskless-sync-delay (5 s) for more replicas before the full sync, and an empty
 * one then only moves the offset with its PING to replicas every repl-ping-replica-period (10 s):
 * with the defaults a 3+3 cluster takes about 11 s to be ready, with these about 4 s.
 */
const FAST_REPLICA_SYNC = ['--repl-diskless-sync-delay', '0', '--repl-ping-replica-period', '1'];

/** True when nothing listens on `port` (127.0.0.1) right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/**
 * A free port whose cluster bus port (port + 10000, fixed before Redis 7's `cluster-port`) is
 * free as well, so it must be at most 55535. Never one of `taken`.
 */
async function clusterNodePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p <= 65535 - 10000 && ![p, p + 10000, p - 10000].some((q) => taken.has(q)) && (await portFree(p + 10000))) return p;
  }
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ failed: Error | null; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => resolve({ failed: err, output: `${stdout}${stderr}` }));
  });
}

/** What is not yet right about the cluster, or null when it is ready; `roles` is filled in on the way. */
async function clusterProblems(
  admins: Map<RedisServerProcess, Redis>,
  expectedNodes: number,
  expectedMasters: number,
  roles: Map<RedisServerProcess, 'master' | 'replica'>,
): Promise<string | null> {
  const problems: string[] = [];
  for (const [node, admin] of admins) {
    const at = `${node.host}:${node.port}`;
    const info = await admin.cluster('INFO');
    if (!/^cluster_state:ok\r?$/m.test(info)) problems.push(`${at}: ${/^cluster_state:\w+/m.exec(info)?.[0] ?? 'no cluster_state'}`);

    const ranges = await admin.cluster('SLOTS');
    const covered = ranges.reduce((n, [start, end]) => n + end - start + 1, 0);
    const listed = new Set(ranges.flatMap(([, , ...owners]) => owners.map(([host, port]) => `${host}:${port}`)));
    if (covered !== SLOTS || listed.size !== expectedNodes) {
      problems.push(`${at}: CLUSTER SLOTS covers ${covered}/${SLOTS} slots on ${listed.size}/${expectedNodes} nodes`);
    }

    const replication = await admin.info('replication');
    if (/^role:slave\r?$/m.test(replication)) {
      roles.set(node, 'replica');
      if (!/^master_link_status:up\r?$/m.test(replication)) problems.push(`${at}: replica, master link not up`);
    } else {
      roles.set(node, 'master');
    }
  }
  const masters = [...roles.values()].filter((r) => r === 'master').length;
  if (masters !== expectedMasters) problems.push(`${masters} masters, expected ${expectedMasters}`);
  return problems.length > 0 ? problems.join('; ') : null;
}

export async function startRedisCluster(
  opts: { masters?: number; replicasPerMaster?: number; args?: string[]; timeoutMs?: number } = {},
): Promise<RedisClusterProcess> {
  const masterCount = opts.masters ?? 3;
  const replicasPerMaster = opts.replicasPerMaster ?? 0;
  const total = masterCount * (1 + replicasPerMaster);
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  const dir = mkdtempSync(join(tmpdir(), 'platter-redis-cluster-'));
  // Replicas write their full-sync RDB there: remove it even if the test never calls stop().
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);

  const ports = new Set<number>();
  while (ports.size < total) ports.add(await clusterNodePort(ports));

  const started = await Promise.allSettled(
    [...ports].map((port) =>
      startRedisServer({
        port,
        args: ['--port', String(port), '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', '2000', '--dir', dir, ...FAST_REPLICA_SYNC, ...(opts.args ?? [])],
      }),
    ),
  );
  const all = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stopAll = async () => {
    await Promise.all(all.map((n) => n.stop()));
    process.off('exit', removeDir);
    removeDir();
  };
  const failedStart = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failedStart) {
    await stopAll();
    throw failedStart.reason;
  }

  const create = await run(
    'redis-cli',
    ['--cluster', 'create', ...all.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
    Math.max(1000, deadline - Date.now()),
  );
  if (create.failed) {
    await stopAll();
    throw new Error(`redis-cli --cluster create failed (${create.failed.message.split('\n')[0]}):\n${create.output}`);
  }

  const admins = new Map(all.map((n) => {
    const admin = new Redis({ host: n.host, port: n.port, maxRetriesPerRequest: 1 });
    admin.on('error', () => {}); // a failed check is retried until the deadline
    return [n, admin] as const;
  }));
  const roles = new Map<RedisServerProcess, 'master' | 'replica'>();
  let problems: string | null = 'not checked yet';
  try {
    for (;;) {
      problems = await clusterProblems(admins, total, masterCount, roles).catch((err: unknown) => `error: ${String(err)}`);
      if (problems === null || Date.now() > deadline) break;
      await sleep(100);
    }
  } finally {
    for (const admin of admins.values()) admin.disconnect();
  }
  if (problems !== null) {
    await stopAll();
    throw new Error(`Redis Cluster on ports ${[...ports].join(', ')} not ready within ${opts.timeoutMs ?? 20_000} ms: ${problems}\n` +
      `redis-cli --cluster create said:\n${create.output}`);
  }

  const masters = all.filter((n) => roles.get(n) === 'master');
  const replicas = all.filter((n) => roles.get(n) === 'replica');
  return {
    masters,
    replicas,
    nodes: [...masters, ...replicas],
    seeds: masters.map((n) => ({ host: n.host, port: n.port })),
    stop: stopAll,
  };
}

/** null when redis-server and redis-cli are on PATH, else a sentence saying which is missing (for test skips). */
export function missingRedisTools(): string | null {
  const missing = ['redis-server', 'redis-cli'].filter((cmd) => {
    try {
      execFileSync(cmd, ['--version'], { stdio: 'ignore' });
      return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
  });
  if (missing.length === 0) return null;
  return `${missing.map((c) => `\`${c}\``).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not on PATH`;
}
