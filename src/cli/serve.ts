/**
 * `platter serve`: the composition root of the read server. Config -> registry cache -> online
 * reader -> serving core -> HTTP + gRPC. Nothing here can write to the online store.
 */
import type { Logger } from 'pino';
import { PlatterError } from '../errors.js';
import { loadRepoConfig } from '../config/load.js';
import { validateForServe } from '../config/validate-serve.js';
import type { RepoConfig } from '../config/repo-config.js';
import { RegistryCache } from '../registry/registry-cache.js';
import { FileRegistrySource } from '../registry/sources/file.js';
import type { RegistrySource } from '../registry/sources/source.js';
import { openRedis, waitReady } from '../online/redis/connect.js';
import { RedisOnlineReader } from '../online/redis/reader.js';
import { SqliteOnlineReader } from '../online/sqlite/reader.js';
import type { OnlineReader } from '../online/types.js';
import { OnlineFeatureService } from '../serving/online-features.js';
import { startHttpServer, type HttpServer } from '../transport/http/app.js';
import { startGrpcServer, type GrpcServer } from '../transport/grpc/server.js';
import { VERSION } from '../ops/version.js';

export interface ServeOptions {
  repo: string;
  host?: string | undefined;
  port?: number | undefined;
  /** 0 picks a free port; null disables gRPC. */
  grpcPort?: number | null | undefined;
  logger: Logger;
  env?: Record<string, string | undefined>;
}

export interface RunningServer {
  readonly config: RepoConfig;
  readonly http: HttpServer;
  readonly grpc: GrpcServer | null;
  readonly registry: RegistryCache;
  readonly service: OnlineFeatureService;
  close(): Promise<void>;
}

function registrySource(cfg: RepoConfig): RegistrySource {
  const r = cfg.registry;
  if (r.registryType === 'file' && r.localPath) return new FileRegistrySource(r.localPath);
  throw new PlatterError(
    'CONFIG_UNSUPPORTED',
    `${cfg.configPath}: registry of type '${r.registryType}' cannot be served yet; use a local file registry (registry.path)`,
  );
}

async function openReader(cfg: RepoConfig, logger: Logger): Promise<OnlineReader> {
  const store = cfg.onlineStore;
  if (store?.type === 'redis') {
    const client = openRedis(
      { redisType: store.redisType, ...store.connection },
      { commandTimeoutMs: cfg.platter.onlineStoreTimeoutMs, connectionName: 'platter-serve' },
    );
    client.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
    try {
      await waitReady(client, 5000);
    } catch (err) {
      // Keep going: /health reports 503 until Redis answers, and ioredis keeps reconnecting.
      logger.error({ err: (err as Error).message }, 'redis is not reachable yet');
    }
    return new RedisOnlineReader(client, cfg.project);
  }
  if (store?.type === 'sqlite') return new SqliteOnlineReader(store.path, cfg.project);
  throw new PlatterError('CONFIG_UNSUPPORTED', `${cfg.configPath}: online_store cannot be served`);
}

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const { logger } = opts;
  const config = loadRepoConfig(opts.repo, opts.env ? { env: opts.env } : undefined);
  for (const w of config.warnings) logger.warn(w);
  validateForServe(config);

  const registry = new RegistryCache({
    source: registrySource(config),
    project: config.project,
    ttlSeconds: config.registry.cacheTtlSeconds,
    logger,
  });
  const reader = await openReader(config, logger);
  await registry.start().catch((err) => {
    logger.error({ err: (err as Error).message }, 'serving without a registry until it loads');
  });

  const service = new OnlineFeatureService(registry, reader, {
    entityKeySerializationVersion: config.entityKeySerializationVersion,
    maxEntityRows: config.platter.maxEntityRows,
    ttlPolicy: config.platter.ttlPolicy,
  });
  const health = async () => {
    registry.current();
    await reader.ping();
  };
  const host = opts.host ?? config.platter.http.host;
  const http = await startHttpServer(
    { service, health, logger, maxRequestBytes: config.platter.maxRequestBytes },
    host,
    opts.port ?? config.platter.http.port,
  );
  const grpcPort = opts.grpcPort === undefined ? config.platter.grpc.port : opts.grpcPort;
  let grpc: GrpcServer | null = null;
  if (grpcPort !== null) {
    try {
      grpc = await startGrpcServer(
        { service, health, logger, version: VERSION, maxRequestBytes: config.platter.maxRequestBytes },
        host,
        grpcPort,
      );
    } catch (err) {
      http.close();
      await reader.close();
      registry.close();
      throw err;
    }
  }
  logger.info(
    { project: config.project, http: http.port, grpc: grpc?.port ?? null, onlineStore: reader.kind, version: VERSION },
    'platter serving',
  );
  return {
    config,
    http,
    grpc,
    registry,
    service,
    async close() {
      http.close();
      await grpc?.close();
      registry.close();
      await reader.close();
    },
  };
}
