/**
 * `platter serve`: the composition root of the read server. Config -> registry cache -> online
 * reader -> serving core -> HTTP + gRPC. Nothing here can write to the online store.
 */
import type { Logger } from 'pino';
import { PlatterError } from '../errors.js';
import { loadRepoConfig } from '../config/load.js';
import { validateForServe } from '../config/validate-serve.js';
import type { RepoConfig } from '../config/repo-config.js';
import { RegistryCache, type RegistryCacheOptions } from '../registry/registry-cache.js';
import { openRegistrySource, type OpenSourceOptions } from '../registry/sources/open.js';
import { openRedisReader } from '../online/redis/open.js';
import { SqliteOnlineReader } from '../online/sqlite/reader.js';
import type { OnlineReader } from '../online/types.js';
import { OnlineFeatureService } from '../serving/online-features.js';
import { startHttpServer, type HttpServer } from '../transport/http/app.js';
import { startGrpcServer, type GrpcServer } from '../transport/grpc/server.js';
import { VERSION } from '../ops/version.js';
import { localAdminBackend, startAdminServer, type AdminBackend, type AdminServer } from '../ops/admin.js';
import { processMetrics, registryMetrics } from '../ops/metrics.js';
import { RequestMetrics } from '../ops/request-metrics.js';

export interface ServeOptions {
  repo: string;
  host?: string | undefined;
  port?: number | undefined;
  /** 0 picks a free port; null disables gRPC. */
  grpcPort?: number | null | undefined;
  logger: Logger;
  /** `${VAR}` substitution and PLATTER_ADMIN_TOKEN. @default process.env */
  env?: Record<string, string | undefined>;
  /** Admin endpoint port (0 picks a free port); null disables it; undefined: `platter.admin.port`. */
  adminPort?: number | null | undefined;
  /** Registry refresh tuning (event debounce); tests shorten it. */
  registry?: Pick<RegistryCacheOptions, 'eventDebounceMs' | 'eventMaxDelayMs' | 'retryMs' | 'watch'>;
  /** Registry source tuning (statement timeout, LISTEN reconnect backoff). */
  registrySource?: OpenSourceOptions['sql'];
}

export interface RunningServer {
  readonly config: RepoConfig;
  readonly http: HttpServer;
  readonly grpc: GrpcServer | null;
  /** The admin endpoint, when enabled. */
  readonly admin: AdminServer | null;
  /** What the admin routes do in this process (a worker answers its primary's admin port with it). */
  readonly adminBackend: AdminBackend;
  readonly registry: RegistryCache;
  readonly service: OnlineFeatureService;
  close(): Promise<void>;
}

export interface AdminSettings {
  host: string;
  port: number;
  token: string;
}

/**
 * The admin endpoint's settings, or null when no port is given (flag or `platter.admin.port`).
 * A port without a token is refused: the endpoint triggers work on every replica.
 */
export function adminSettings(cfg: RepoConfig, opts: ServeOptions): AdminSettings | null {
  const a = cfg.platter.admin;
  const port = opts.adminPort !== undefined ? opts.adminPort : (a?.port ?? null);
  if (port === null) return null;
  const env = opts.env ?? process.env;
  let token = env.PLATTER_ADMIN_TOKEN || a?.token;
  // An unset `${VAR}` stays as written (Feast's loader does the same): never a token.
  if (token !== undefined && /^\$\{[^}]*\}$/.test(token)) token = undefined;
  if (!token) {
    throw new PlatterError(
      'CONFIG_INVALID',
      `${cfg.configPath}: the admin endpoint (port ${port}) needs a bearer token and has none; set the PLATTER_ADMIN_TOKEN environment variable or \`platter.admin.token\`, or drop the admin port to run without it`,
    );
  }
  return { host: a?.host ?? opts.host ?? cfg.platter.http.host, port, token };
}

async function openReader(cfg: RepoConfig, logger: Logger): Promise<OnlineReader> {
  const store = cfg.onlineStore;
  if (store?.type === 'redis') {
    return openRedisReader(
      { redisType: store.redisType, ...store.connection },
      {
        project: cfg.project,
        mode: cfg.platter.redisRead,
        commandTimeoutMs: cfg.platter.onlineStoreTimeoutMs,
        connectionName: 'platter-serve',
        onWarn: (msg, err) => logger.warn({ err: err.message }, msg),
      },
    );
  }
  if (store?.type === 'sqlite') return new SqliteOnlineReader(store.path, cfg.project);
  throw new PlatterError('CONFIG_UNSUPPORTED', `${cfg.configPath}: online_store cannot be served`);
}

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const { logger } = opts;
  const config = loadRepoConfig(opts.repo, opts.env ? { env: opts.env } : undefined);
  for (const w of config.warnings) logger.warn(w);
  validateForServe(config);
  const adminCfg = adminSettings(config, opts);

  const registry = new RegistryCache({
    ...opts.registry,
    source: openRegistrySource(config, { logger, ...(opts.registrySource ? { sql: opts.registrySource } : {}) }),
    project: config.project,
    // Feast's cache_mode `sync` reloads on a request thread once the TTL expired; Platter never
    // loads on the request path, so both modes poll in the background every cache_ttl_seconds.
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
  const requestMetrics = new RequestMetrics();
  let http: HttpServer;
  try {
    http = await startHttpServer(
      { service, health, logger, maxRequestBytes: config.platter.maxRequestBytes, metrics: requestMetrics },
      host,
      opts.port ?? config.platter.http.port,
    );
  } catch (err) {
    await reader.close();
    await registry.close();
    throw err;
  }
  const grpcPort = opts.grpcPort === undefined ? config.platter.grpc.port : opts.grpcPort;
  let grpc: GrpcServer | null = null;
  if (grpcPort !== null) {
    try {
      grpc = await startGrpcServer(
        { service, health, logger, version: VERSION, maxRequestBytes: config.platter.maxRequestBytes, metrics: requestMetrics },
        host,
        grpcPort,
      );
    } catch (err) {
      http.close();
      await reader.close();
      await registry.close();
      throw err;
    }
  }
  const adminBackend = localAdminBackend(registry, () => [...requestMetrics.families(), ...registryMetrics(registry), ...processMetrics()], logger);
  let admin: AdminServer | null = null;
  if (adminCfg !== null) {
    try {
      admin = await startAdminServer({ ...adminCfg, logger, backend: adminBackend });
    } catch (err) {
      http.close();
      await grpc?.close();
      await reader.close();
      await registry.close();
      throw err;
    }
  }
  logger.info(
    { project: config.project, http: http.port, grpc: grpc?.port ?? null, admin: admin?.port ?? null, registry: registry.source.description, onlineStore: reader.kind, version: VERSION },
    'platter serving',
  );
  return {
    config,
    http,
    grpc,
    admin,
    adminBackend,
    registry,
    service,
    async close() {
      http.close();
      await grpc?.close();
      await admin?.close();
      await registry.close();
      await reader.close();
    },
  };
}
