/**
 * Opens ioredis clients from a parsed Feast `connection_string`. Readers and writers share this,
 * so both talk to Redis the same way.
 */
import { Redis, Cluster, type RedisOptions } from 'ioredis';

export interface RedisConnectionSpec {
  readonly redisType: 'redis' | 'redis_cluster' | 'redis_sentinel';
  readonly hosts: readonly { host: string; port: number }[];
  readonly password?: string | undefined;
  readonly username?: string | undefined;
  readonly db?: number | undefined;
  readonly ssl?: boolean | undefined;
}

export interface RedisClientOptions {
  /** Deadline on every command (ioredis `commandTimeout`). */
  commandTimeoutMs: number;
  /** Name shown in CLIENT LIST. */
  connectionName: string;
}

export type RedisClient = Redis | Cluster;

export function openRedis(spec: RedisConnectionSpec, opts: RedisClientOptions): RedisClient {
  const common: RedisOptions = {
    commandTimeout: opts.commandTimeoutMs,
    connectionName: opts.connectionName,
    // Fail fast instead of queueing while disconnected: a request must not wait on a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: false,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...(spec.password !== undefined ? { password: spec.password } : {}),
    ...(spec.username !== undefined ? { username: spec.username } : {}),
    ...(spec.ssl ? { tls: {} } : {}),
  };
  const first = spec.hosts[0] ?? { host: 'localhost', port: 6379 };
  if (spec.redisType === 'redis_cluster') {
    return new Cluster(
      spec.hosts.map((h) => ({ host: h.host, port: h.port })),
      { redisOptions: common, enableOfflineQueue: false, scaleReads: 'slave' },
    );
  }
  return new Redis({ ...common, host: first.host, port: first.port, db: spec.db ?? 0 });
}

/** Resolves when the client is ready, rejects after `timeoutMs`. */
export function waitReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms (status ${client.status})`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}
