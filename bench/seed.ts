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
/** Writes in flight (each a pipeline of CHUNK rows of one view). */
const PARALLEL = 4;

export async function seedRepo(repoDir: string, entities: number, baseSeconds: number): Promise<SeedResult> {
  const t0 = performance.now();
  const cfg = loadRepoConfig(repoDir);
  const registryPath = cfg.registry.registryType === 'file' ? cfg.registry.localPath : undefined;
  if (registryPath === undefined) throw new Error(`${cfg.configPath}: the bench writes a local file registry`);
  const index = buildRegistryIndex(decodeRegistry(readFileSync(registryPath), registryPath), cfg.project);
  const writer = await openOnlineWriter(cfg);
  let rowsWritten = 0;
  const jobs: { viewName: string; start: number }[] = [];
  for (const viewName of Object.keys(VIEWS)) for (let start = 1; start <= entities; start += CHUNK) jobs.push({ viewName, start });
  const writeChunk = async ({ viewName, start }: { viewName: string; start: number }) => {
    const view = index.views.get(viewName);
    if (!view) throw new Error(`registry has no view '${viewName}'`);
    const features = VIEWS[viewName]!;
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
  };
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < jobs.length) await writeChunk(jobs[next++]!);
      }),
    );
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

/**
 * Rewrites every hash of a project with DUMP + RESTORE REPLACE: Redis applies its current
 * `hash-max-listpack-entries` when it restores a hash, so this converts the seeded hashes to the
 * encoding the threshold now asks for, byte for byte the same content, in a fraction of a reseed.
 */
export async function reencodeProject(client: Redis, project: string): Promise<{ keys: number; ms: number }> {
  const t0 = performance.now();
  let cursor = '0';
  let n = 0;
  do {
    const [next, found] = await client.scanBuffer(cursor, 'MATCH', `*${project}`, 'COUNT', 500);
    cursor = String(next);
    const keys = found.filter((k) => k.subarray(k.length - Buffer.byteLength(project)).toString('utf8') === project);
    if (keys.length === 0) continue;
    const dump = client.pipeline();
    for (const k of keys) dump.dumpBuffer(k);
    const payloads = ((await dump.exec()) ?? []).map(([err, p]) => {
      if (err) throw err;
      return p as Buffer;
    });
    const restore = client.pipeline();
    keys.forEach((k, i) => restore.restore(k, 0, payloads[i]!, 'REPLACE'));
    for (const [err] of (await restore.exec()) ?? []) if (err) throw err;
    n += keys.length;
  } while (cursor !== '0');
  return { keys: n, ms: performance.now() - t0 };
}
