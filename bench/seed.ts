/**
 * Fills Redis for a bench run through the product's own write path — `toOnlineRows` (Value and
 * entity-key encoding) and `openOnlineWriter` (Feast's Redis layout with the newer-wins check) —
 * the way `platter example` and materialization write. Values come from `seedValue`, so checks
 * can compute what every response must hold. `dropProject` removes the run's keys afterwards.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { loadRepoConfig } from '../src/config/load.js';
import { decodeRegistry } from '../src/registry/sources/decode.js';
import { buildRegistryIndex } from '../src/registry/registry-index.js';
import { toOnlineRows, type SourceRecord } from '../src/writers/online-rows.js';
import { openOnlineWriter } from '../src/writers/online-writer.js';
import { ENTITY, VIEWS, eventSeconds, seedValue } from './workloads.js';

export interface SeedResult {
  readonly rowsWritten: number;
  readonly ms: number;
}

const CHUNK = 1000;

export async function seedRepo(repoDir: string, entities: number, baseSeconds: number): Promise<SeedResult> {
  const t0 = performance.now();
  const cfg = loadRepoConfig(repoDir);
  const registryPath = cfg.registry.registryType === 'file' ? cfg.registry.localPath : undefined;
  if (registryPath === undefined) throw new Error(`${cfg.configPath}: the bench writes a local file registry`);
  const index = buildRegistryIndex(decodeRegistry(readFileSync(registryPath), registryPath), cfg.project);
  const writer = await openOnlineWriter(cfg);
  let rowsWritten = 0;
  try {
    for (const [viewName, features] of Object.entries(VIEWS)) {
      const view = index.views.get(viewName);
      if (!view) throw new Error(`registry has no view '${viewName}'`);
      for (let start = 1; start <= entities; start += CHUNK) {
        const records: SourceRecord[] = [];
        for (let id = start; id < Math.min(start + CHUNK, entities + 1); id++) {
          const rec: Record<string, unknown> = { [ENTITY.joinKey]: id, event_timestamp: eventSeconds(baseSeconds, id) };
          for (const f of features) rec[f.name] = seedValue(f, id);
          records.push(rec);
        }
        const rows = toOnlineRows(view, records, {
          version: cfg.entityKeySerializationVersion,
          timestampField: 'event_timestamp',
        });
        const res = await writer.write(viewName, rows);
        if (res.written !== rows.length) {
          throw new Error(`seeding ${viewName}: wrote ${res.written} of ${rows.length} rows (${res.skipped} skipped as not newer)`);
        }
        rowsWritten += res.written;
      }
    }
  } finally {
    await writer.close();
  }
  return { rowsWritten, ms: performance.now() - t0 };
}

/** Deletes every key of a project (Feast suffixes each key with the project name). Returns the count. */
export async function dropProject(client: Redis, project: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scanBuffer(cursor, 'MATCH', `*${project}`, 'COUNT', 1000);
    cursor = String(next);
    // MATCH is a glob; keep only keys that really end with the project name.
    const mine = keys.filter((k) => k.subarray(k.length - Buffer.byteLength(project)).toString('utf8') === project);
    if (mine.length > 0) deleted += await client.del(...mine);
  } while (cursor !== '0');
  return deleted;
}
