/**
 * `platter serve` as a process: one server, or (with `--workers` / `platter.workers` above 1) a
 * primary that runs that many servers on the same ports (workers.ts). Signals stop it cleanly.
 */
import cluster from 'node:cluster';
import v8 from 'node:v8';
import { loadRepoConfig } from '../config/load.js';
import { validateForServe } from '../config/validate-serve.js';
import { startAdminServer, type AdminServer } from '../ops/admin.js';
import { adminSettings, serve, type ServeOptions } from './serve.js';
import { answerAdmin, parseWorkers, reportReady, runPrimary, workerPorts } from './workers.js';

function onSignals(logger: ServeOptions['logger'], stop: (signal: string) => Promise<void>): void {
  const handler = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    stop(signal).finally(() => process.exit(0));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

/**
 * V8 moves objects from an allocation site straight to the old generation once most of them
 * outlive a young-generation collection. Under gRPC load a few of the per-call sites (stream
 * and call objects that live across a Redis round trip) crossed that line, and every call's
 * objects then went to the old generation: a mark-compact every ~0.5 s. A server whose objects
 * live for one request gains nothing from it. With it off (bench/ab.ts, 4-6 pairs): gRPC server
 * CPU per call 0.92x on 1x10, 0.91x on 1x50, 0.94x on 100x50, mark-compacts 22 -> 7 in a run;
 * HTTP 1.04x on 1x50, 1.01x on 10x50, 1.00x on 100x250 (within noise).
 */
function tuneGc(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}

async function serveOne(opts: ServeOptions): Promise<void> {
  tuneGc();
  const server = await serve(opts);
  onSignals(opts.logger, () => server.close());
  answerAdmin(server.adminBackend);
  reportReady();
}

export async function serveCommand(opts: ServeOptions, workersFlag: string | undefined): Promise<void> {
  const ports = workerPorts();
  if (ports !== null) {
    // The primary owns the admin port.
    await serveOne({ ...opts, port: ports.http, grpcPort: ports.grpc, adminPort: null });
    return;
  }
  const config = loadRepoConfig(opts.repo, opts.env ? { env: opts.env } : undefined);
  const count = workersFlag !== undefined ? parseWorkers(workersFlag, '--workers') : parseWorkers(config.platter.workers, 'platter.workers');
  if (count === 1 || !cluster.isPrimary) {
    await serveOne(opts);
    return;
  }
  // Checked once here, so a bad config is one message rather than one per worker.
  for (const w of config.warnings) opts.logger.warn(w);
  validateForServe(config);
  // Refused here, before any worker starts, when the admin port has no token.
  const adminCfg = adminSettings(config, opts);
  const primary = await runPrimary({
    count,
    host: opts.host ?? config.platter.http.host,
    httpPort: opts.port ?? config.platter.http.port,
    grpcPort: opts.grpcPort === undefined ? config.platter.grpc.port : opts.grpcPort,
    logger: opts.logger,
  });
  let admin: AdminServer | null = null;
  if (adminCfg !== null) {
    try {
      admin = await startAdminServer({ ...adminCfg, logger: opts.logger, backend: primary.admin });
    } catch (err) {
      await primary.stop('admin port failed');
      throw err;
    }
  }
  onSignals(opts.logger, async (signal) => {
    await admin?.close();
    await primary.stop(signal);
  });
}
