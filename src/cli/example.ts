/**
 * `platter example`: builds a bundled example repo the way `feast apply` + `feast materialize`
 * would: writes its registry from `repo.json` and loads `data/<view>.jsonl` into the online store
 * named in its feature_store.yaml (SQLite by default, Redis if configured).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { PlatterError } from '../errors.js';
import { loadRepoConfig } from '../config/load.js';
import { parseJsonExact } from '../encoding/json-parse.js';
import { encodeRegistry, type RepoDefinition } from '../registry/definition.js';
import { decodeRegistry } from '../registry/sources/decode.js';
import { buildRegistryIndex } from '../registry/registry-index.js';
import { toOnlineRows, type SourceRecord } from '../writers/online-rows.js';
import { latestPerEntity, openOnlineWriter } from '../writers/online-writer.js';

export async function buildExample(repo: string, logger: Logger): Promise<void> {
  const cfg = loadRepoConfig(repo);
  const defPath = join(cfg.repoPath, 'repo.json');
  if (!existsSync(defPath)) {
    throw new PlatterError('CONFIG_INVALID', `${defPath} not found: \`platter example\` builds repos that carry a repo.json definition`);
  }
  const def = JSON.parse(readFileSync(defPath, 'utf8')) as RepoDefinition;
  if (def.project !== cfg.project) {
    throw new PlatterError('CONFIG_INVALID', `${defPath} defines project '${def.project}' but ${cfg.configPath} says '${cfg.project}'`);
  }
  if (cfg.registry.registryType !== 'file' || !cfg.registry.localPath) {
    throw new PlatterError('CONFIG_UNSUPPORTED', `${cfg.configPath}: \`platter example\` writes a local file registry only`);
  }
  const bytes = encodeRegistry(def);
  mkdirSync(dirname(cfg.registry.localPath), { recursive: true });
  writeFileSync(cfg.registry.localPath, bytes);
  logger.info({ path: cfg.registry.localPath, bytes: bytes.length }, 'registry written');

  const index = buildRegistryIndex(decodeRegistry(bytes, cfg.registry.localPath), cfg.project);
  if (cfg.onlineStore?.type === 'sqlite') mkdirSync(dirname(cfg.onlineStore.path), { recursive: true });
  const writer = await openOnlineWriter(cfg);
  try {
    for (const view of index.views.values()) {
      const file = join(cfg.repoPath, 'data', `${view.name}.jsonl`);
      if (!existsSync(file)) continue;
      const records = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => parseJsonExact(l) as SourceRecord);
      const rows = latestPerEntity(
        toOnlineRows(view, records, { version: cfg.entityKeySerializationVersion, timestampField: 'event_timestamp' }),
      );
      const res = await writer.write(view.name, rows);
      logger.info({ view: view.name, source: file, rows: records.length, ...res }, 'loaded into the online store');
    }
  } finally {
    await writer.close();
  }
}
