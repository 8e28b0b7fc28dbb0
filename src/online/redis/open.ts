/** The Redis reader exactly as `platter serve` runs it: ioredis client, fast lane(s) (`auto`), reader. */
import { Cluster, Redis } from 'ioredis';
import { openClusterLanes, openFastLane, openRedis, waitLane, waitReady, type RedisConnectionSpec } from './connect.js';
import { RedisOnlineReader, type RedisReadMode } from './reader.js';

export interface RedisReaderSettings {
  readonly project: string;
  readonly mode: RedisReadMode;
  readonly commandTimeoutMs: number;
  readonly connectionName: string;
  /** Connection problems (the reader keeps going: ioredis reconnects, the lane follows). */
  readonly onWarn: (msg: string, err: Error) => void;
}

export async function openRedisReader(spec: RedisConnectionSpec, s: RedisReaderSettings): Promise<RedisOnlineReader> {
  const opts = { commandTimeoutMs: s.commandTimeoutMs, connectionName: s.connectionName };
  const client = openRedis(spec, opts);
  client.on('error', (err: Error) => s.onWarn('redis connection error', err));
  const laneOpts = {
    ...opts,
    onError: (err: Error) => s.onWarn('redis fast lane: reads go through ioredis until it reconnects', err),
  };
  const lane = s.mode === 'auto' && client instanceof Redis ? openFastLane(client, spec, laneOpts) : null;
  const clusterLanes = s.mode === 'auto' && client instanceof Cluster ? openClusterLanes(client, spec, laneOpts) : null;
  try {
    await waitReady(client, 5000);
    if (lane !== null) await waitLane(lane, 2000);
    if (clusterLanes !== null) await waitLane(clusterLanes, 2000);
  } catch (err) {
    // Keep going: /health reports 503 until Redis answers, and ioredis keeps reconnecting.
    s.onWarn('redis is not reachable yet', err as Error);
  }
  return new RedisOnlineReader(client, s.project, { mode: s.mode, lane, clusterLanes });
}
