/**
 * The online-store write seam shared by every writer (example loader, push, materialize): rows in,
 * Feast's layout out, for whichever online store feature_store.yaml configures.
 */
import { PlatterError } from '../errors.js';
import type { RepoConfig } from '../config/repo-config.js';
import { openRedis, waitReady, type RedisClient } from '../online/redis/connect.js';
import { writeRedisRows, type OnlineWriteRow, type WriteResult } from '../online/redis/writer.js';
import { SqliteOnlineWriter } from '../online/sqlite/writer.js';

export interface OnlineWriter {
  write(viewName: string, rows: readonly OnlineWriteRow[]): Promise<WriteResult>;
  close(): Promise<void>;
}

export async function openOnlineWriter(cfg: RepoConfig): Promise<OnlineWriter> {
  const store = cfg.onlineStore;
  if (store?.type === 'sqlite') {
    const w = new SqliteOnlineWriter(store.path, cfg.project);
    return {
      write: async (view, rows) => ({ written: w.write(view, rows), skipped: 0 }),
      close: async () => w.close(),
    };
  }
  if (store?.type === 'redis') {
    const client: RedisClient = openRedis(
      { redisType: store.redisType, ...store.connection },
      { commandTimeoutMs: 30_000, connectionName: 'platter-writer' },
    );
    await waitReady(client, 10_000);
    return {
      write: (view, rows) =>
        writeRedisRows(client, cfg.project, view, rows, { keyTtlSeconds: store.keyTtlSeconds, skipDedup: store.skipDedup }),
      close: async () => {
        await client.quit();
      },
    };
  }
  throw new PlatterError(
    'CONFIG_UNSUPPORTED',
    `${cfg.configPath}: online_store ${store ? `type '${store.name}'` : 'is not set'}; writers support redis and sqlite`,
  );
}

/**
 * Keep the latest row per entity key (by event time; later input wins ties), as Feast's
 * materialization dedups before writing (compute_engines local nodes, only_latest).
 */
export function latestPerEntity(rows: readonly OnlineWriteRow[]): OnlineWriteRow[] {
  const best = new Map<string, OnlineWriteRow>();
  for (const r of rows) {
    const id = r.entityKey.toString('latin1');
    const prev = best.get(id);
    if (
      !prev ||
      r.eventTs.seconds > prev.eventTs.seconds ||
      (r.eventTs.seconds === prev.eventTs.seconds && r.eventTs.nanos >= prev.eventTs.nanos)
    ) {
      best.set(id, r);
    }
  }
  return [...best.values()];
}
