/**
 * Opens ioredis clients from a parsed Feast `connection_string`. Readers and writers share this,
 * so both talk to Redis the same way.
 */
import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { Socket } from 'node:net';
import { ClusterLanes } from './cluster-lanes.js';
import { RespLane } from './lane.js';

export interface RedisConnectionSpec {
  readonly redisType: 'redis' | 'redis_cluster' | 'redis_sentinel';
  readonly hosts: readonly { host: string; port: number }[];
  readonly password?: string | undefined;
  readonly username?: string | undefined;
  readonly db?: number | undefined;
  readonly ssl?: boolean | undefined;
  /** Cluster: read from replicas (Feast's `read_from_replicas=true`); else from masters, as Feast. */
  readonly readFromReplicas?: boolean | undefined;
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
      // No auto-pipelining: ioredis 5 groups auto-pipelined commands by the slot of the key's UTF-8
      // text (`${key}`), which is wrong for binary keys like Feast's and fails the pipeline.
      {
        redisOptions: common,
        enableOfflineQueue: false,
        // Feast's redis-py RedisCluster reads masters unless `read_from_replicas=true`: a read right
        // after a write sees it. The lanes follow the same choice (cluster-lanes.ts).
        scaleReads: spec.readFromReplicas ? 'slave' : 'master',
        // On MOVED, ioredis 5 puts the new master first in the slot's node list but keeps the old
        // master's replicas after it, and with replica reads it re-sends at once to one of them,
        // which answers MOVED again: during a slot migration a read could use up its 16
        // redirections before the slot-map refresh that MOVED started comes back ("Too many
        // Cluster redirections"). A short pause per MOVED lets the refresh land first.
        ...(spec.readFromReplicas ? { retryDelayOnMoved: 20 } : {}),
      },
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

/** Waits up to `ms` for the lane's handshake (serve start-up and the bench; requests never wait). */
export async function waitLane(lane: { readonly ready: boolean }, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!lane.ready && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  return lane.ready;
}

/**
 * The read fast lane beside a standalone client: it connects wherever `client` is connected
 * (after every reconnect, so a sentinel failover moves it too) with the same credentials.
 */
export function openFastLane(
  client: Redis,
  spec: RedisConnectionSpec,
  opts: RedisClientOptions & { onError?: (err: Error) => void },
): RespLane {
  const lane = new RespLane({
    tls: spec.ssl ?? false,
    servername: spec.hosts[0]?.host,
    username: spec.username,
    password: spec.password,
    db: spec.db ?? 0,
    connectionName: `${opts.connectionName}-lane`,
    commandTimeoutMs: opts.commandTimeoutMs,
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  const follow = () => {
    const stream = (client as unknown as { stream?: Socket }).stream;
    const host = stream?.remoteAddress ?? client.options.host ?? 'localhost';
    const port = stream?.remotePort ?? client.options.port ?? 6379;
    lane.follow(host, port);
  };
  client.on('ready', follow);
  lane.onClose(() => client.off('ready', follow));
  if (client.status === 'ready') follow();
  return lane;
}

/**
 * Read lanes beside a cluster client: one per node serving reads, routed by ioredis's slot map
 * (cluster-lanes.ts), with the cluster's credentials. Every lane sends READONLY, which a replica
 * needs before it answers reads of its master's slots (a master ignores it).
 */
export function openClusterLanes(
  cluster: Cluster,
  spec: RedisConnectionSpec,
  opts: RedisClientOptions & { onError?: (err: Error) => void },
): ClusterLanes {
  return new ClusterLanes(cluster, (host, port) => {
    const lane = new RespLane({
      tls: spec.ssl ?? false,
      username: spec.username,
      password: spec.password,
      db: 0,
      readOnly: true,
      connectionName: `${opts.connectionName}-lane`,
      commandTimeoutMs: opts.commandTimeoutMs,
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    lane.follow(host, port);
    return lane;
  });
}
