/**
 * `platter serve --workers N`: N serving processes behind the same ports (node:cluster).
 *
 * The read path is one event loop per process, so one process uses one core. Each worker is a
 * whole `platter serve` (its own registry cache, Redis connections and fast lane); nothing is
 * shared between them, so a worker is as fast as a single server and a crash takes down only its
 * own in-flight requests.
 *
 * How the ports are shared: uWS binds the HTTP port itself with SO_REUSEPORT, so every worker binds
 * it and the kernel spreads new connections over them; the gRPC server (a node:net server) listens
 * through node:cluster, whose primary accepts connections and hands them to the workers in turn. A port of
 * 0 is resolved to one free port in the primary first, or every worker would get its own.
 *
 * The primary serves no features. It checks the config once (so a bad file fails once, with one
 * message), starts the workers, restarts a worker that dies (with a backoff when they keep
 * dying), and gives up when one of the first workers cannot start at all. It owns the admin port:
 * a refresh runs on every worker, and /metrics carries every worker's samples (`worker` label),
 * over the cluster's IPC channel (`AdminRequest` / `AdminReply`).
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { PlatterError } from '../errors.js';
import type { AdminAnswer, AdminBackend } from '../ops/admin.js';
import { processMetrics, type MetricFamily } from '../ops/metrics.js';

/** What a worker needs besides the command line: the resolved ports. */
export interface WorkerPorts {
  readonly http: number;
  readonly grpc: number | null;
}

const PORTS_ENV = 'PLATTER_WORKER_PORTS';

/** Ready message a worker sends to the primary once it serves. */
const READY = 'platter:ready';

/** `--workers` / `platter.workers`: a count, or `auto` (one per core the process may use). */
export function parseWorkers(v: string | number, source: string): number {
  if (v === 'auto') return availableParallelism();
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new PlatterError('CONFIG_INVALID', `${source} must be a whole number of processes from 1 to 256 or auto, got '${String(v)}'`);
  }
  return n;
}

/** The ports a worker was told to use, or null in a process that is not a worker. */
export function workerPorts(): WorkerPorts | null {
  if (!cluster.isWorker) return null;
  const raw = process.env[PORTS_ENV];
  return raw === undefined ? null : (JSON.parse(raw) as WorkerPorts);
}

/** Tells the primary this worker serves (no-op outside a cluster). */
export function reportReady(): void {
  if (cluster.isWorker) process.send?.(READY);
}

type AdminOp = 'refresh' | 'force-refresh' | 'registry' | 'metrics';
interface AdminRequest {
  readonly type: 'platter:admin';
  readonly id: number;
  readonly op: AdminOp;
}
interface AdminReply {
  readonly type: 'platter:admin-reply';
  readonly id: number;
  readonly answer?: AdminAnswer;
  readonly metrics?: MetricFamily[];
}

/** In a worker: answers the primary's admin requests with this process's own admin backend. */
export function answerAdmin(backend: AdminBackend): void {
  if (!cluster.isWorker) return;
  process.on('message', (m: AdminRequest) => {
    if (m?.type !== 'platter:admin') return;
    const reply = (r: Omit<AdminReply, 'type' | 'id'>) => process.send?.({ type: 'platter:admin-reply', id: m.id, ...r } satisfies AdminReply);
    const run =
      m.op === 'metrics'
        ? backend.metrics().then((metrics) => reply({ metrics }))
        : (m.op === 'registry' ? backend.registry() : backend.refresh(m.op === 'force-refresh')).then((answer) => reply({ answer }));
    run.catch((err: unknown) => reply({ answer: { status: 500, body: { error: { code: 'INTERNAL', message: (err as Error).message } } } }));
  });
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err) =>
      reject(new PlatterError('CONFIG_INVALID', `cannot find a free port on ${host}: ${err.message}; pass --port and --grpc-port`)),
    );
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface PrimaryOptions {
  readonly count: number;
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number | null;
  readonly logger: Logger;
}

/**
 * Runs the primary: forks `count` workers of this same command line and keeps them running.
 * Resolves once every worker is ready; rejects if one exits before it ever was.
 */
export async function runPrimary(opts: PrimaryOptions): Promise<{ stop(signal: string): Promise<void>; admin: AdminBackend }> {
  const { logger, count, host } = opts;
  const ports: WorkerPorts = {
    http: opts.httpPort === 0 ? await freePort(host) : opts.httpPort,
    grpc: opts.grpcPort === 0 ? await freePort(host) : opts.grpcPort,
  };
  const env = { [PORTS_ENV]: JSON.stringify(ports) };
  let stopping = false;
  let allReady = false;
  /** Restarts within the last minute: a worker that keeps dying is restarted ever more slowly. */
  const recentRestarts: number[] = [];
  /** Workers that have served, by slot (what the `worker` metrics label names). */
  const serving = new Map<number, Worker>();
  let restarts = 0;
  const admin = clusterAdmin(serving, () => restarts);

  return new Promise((resolve, reject) => {
    let ready = 0;
    const fork = (slot: number): Worker => {
      const w = cluster.fork(env);
      let served = false;
      w.on('message', (m: unknown) => {
        if (m !== READY || served) return;
        served = true;
        serving.set(slot, w);
        if (!allReady && ++ready === count) {
          allReady = true;
          logger.info({ workers: count, http: ports.http, grpc: ports.grpc }, 'platter serving with workers');
          resolve({ stop, admin });
        }
      });
      w.on('exit', (code, signal) => {
        if (serving.get(slot) === w) serving.delete(slot);
        if (stopping) return;
        if (!served && !allReady) {
          // A first worker never served: the config, a port or the online store is wrong, and
          // every worker would fail the same way. Its own message is already on stderr. (A
          // replacement that cannot start is retried below: the same setup served before.)
          stopping = true;
          for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
          reject(new PlatterError('CONFIG_INVALID', `worker ${slot} exited (${signal ?? `code ${code}`}) before it could serve; see its error above`));
          return;
        }
        const now = Date.now();
        while (recentRestarts.length > 0 && recentRestarts[0]! < now - 60_000) recentRestarts.shift();
        recentRestarts.push(now);
        const delay = Math.min(100 * 2 ** (recentRestarts.length - 1), 10_000);
        restarts++;
        logger.error({ worker: slot, pid: w.process.pid, code, signal, restartInMs: delay }, 'a worker died; starting another');
        // Not unref'd: when every worker died at once, this timer is what keeps the primary alive.
        setTimeout(() => {
          if (!stopping) fork(slot);
        }, delay);
      });
      return w;
    };
    for (let i = 0; i < count; i++) fork(i);
  });

  async function stop(signal: string): Promise<void> {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    logger.info({ signal, workers: workers.length }, 'shutting down workers');
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((done) => {
            if (w.isDead()) return done();
            const force = setTimeout(() => w.process.kill('SIGKILL'), 10_000);
            w.once('exit', () => {
              clearTimeout(force);
              done();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
  }
}

/** Admin requests answered by every serving worker (registry: by one). */
function clusterAdmin(serving: ReadonlyMap<number, Worker>, restarts: () => number): AdminBackend {
  let nextId = 0;
  const pending = new Map<number, (r: AdminReply | null) => void>();
  cluster.on('message', (_w, m: AdminReply) => {
    if (m?.type !== 'platter:admin-reply') return;
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  });
  /** One worker's reply, or null when it does not answer in time (it died, or is stuck). */
  const ask = (w: Worker, op: AdminOp, timeoutMs: number): Promise<AdminReply | null> =>
    new Promise((resolve) => {
      const id = ++nextId;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(null);
      }, timeoutMs);
      pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      w.send({ type: 'platter:admin', id, op } satisfies AdminRequest);
    });
  const noWorker: AdminAnswer = { status: 503, body: { error: { code: 'UNAVAILABLE', message: 'no worker is serving yet; retry shortly' } } };
  const silent = (slot: number): AdminAnswer => ({
    status: 504,
    body: { error: { code: 'UNAVAILABLE', message: `worker ${slot} did not answer; it may be restarting, retry` } },
  });
  return {
    async refresh(force) {
      const slots = [...serving.keys()].sort((a, b) => a - b);
      if (slots.length === 0) return noWorker;
      const answers = await Promise.all(
        slots.map(async (slot) => {
          const r = await ask(serving.get(slot)!, force ? 'force-refresh' : 'refresh', 120_000);
          return { slot, answer: r?.answer ?? silent(slot) };
        }),
      );
      const failed = answers.find((a) => a.answer.status !== 200);
      return {
        // Every worker refreshed, or the first failure's status.
        status: failed?.answer.status ?? 200,
        body: {
          changed: answers.some((a) => (a.answer.body as { changed?: boolean }).changed === true),
          workers: answers.map((a) => ({ worker: a.slot, ...(a.answer.body as object) })),
        },
      };
    },
    async registry() {
      const first = [...serving.entries()].sort(([a], [b]) => a - b)[0];
      if (first === undefined) return noWorker;
      return (await ask(first[1], 'registry', 30_000))?.answer ?? silent(first[0]);
    },
    async metrics() {
      const merged = new Map<string, MetricFamily & { samples: MetricFamily['samples'][number][] }>();
      const add = (families: readonly MetricFamily[], worker: string) => {
        for (const f of families) {
          let into = merged.get(f.name);
          if (into === undefined) merged.set(f.name, (into = { ...f, samples: [] }));
          for (const s of f.samples) into.samples.push({ ...s, labels: { ...s.labels, worker } });
        }
      };
      for (const [slot, w] of [...serving.entries()].sort(([a], [b]) => a - b)) add((await ask(w, 'metrics', 10_000))?.metrics ?? [], String(slot));
      // The primary's own process figures, beside its workers'.
      add(processMetrics(), 'primary');
      // How many workers serve, and how often they had to be replaced.
      return [
        ...merged.values(),
        { name: 'platter_workers_serving', help: 'Worker processes serving now.', type: 'gauge', samples: [{ value: serving.size }] },
        { name: 'platter_worker_restarts_total', help: 'Workers started again after one died.', type: 'counter', samples: [{ value: restarts() }] },
      ];
    },
  };
}
