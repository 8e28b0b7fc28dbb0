/**
 * `platter serve` as a process: one server, or (with `--workers` / `platter.workers` above 1) a
 * primary that runs that many servers on the same ports (workers.ts). Signals stop it cleanly.
 */
import cluster from 'node:cluster';
import { PlatterError } from '../errors.js';
import { loadRepoConfig } from '../config/load.js';
import { validateForServe } from '../config/validate-serve.js';
import { serve, type ServeOptions } from './serve.js';
import { parseWorkers, reportReady, runPrimary, workerPorts } from './workers.js';

function onSignals(logger: ServeOptions['logger'], stop: (signal: string) => Promise<void>): void {
  const handler = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    stop(signal).finally(() => process.exit(0));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

async function serveOne(opts: ServeOptions): Promise<void> {
  const server = await serve(opts);
  onSignals(opts.logger, () => server.close());
  reportReady();
}

export async function serveCommand(opts: ServeOptions, workersFlag: string | undefined): Promise<void> {
  const ports = workerPorts();
  if (ports !== null) {
    await serveOne({ ...opts, port: ports.http, grpcPort: ports.grpc });
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
  const adminPort = opts.adminPort !== undefined ? opts.adminPort : (config.platter.admin?.port ?? null);
  if (adminPort !== null) {
    // A refresh request would reach one worker and /metrics would describe one worker.
    throw new PlatterError(
      'CONFIG_UNSUPPORTED',
      `${config.configPath}: the admin endpoint (port ${adminPort}) serves one process; run it with --workers 1, or drop the admin port and let each worker refresh the registry on its poll and events`,
    );
  }
  const primary = await runPrimary({
    count,
    host: opts.host ?? config.platter.http.host,
    httpPort: opts.port ?? config.platter.http.port,
    grpcPort: opts.grpcPort === undefined ? config.platter.grpc.port : opts.grpcPort,
    logger: opts.logger,
  });
  onSignals(opts.logger, (signal) => primary.stop(signal));
}
