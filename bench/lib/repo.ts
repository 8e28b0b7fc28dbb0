/** The bench's Feast feature repo in a temp dir: feature_store.yaml + a registry written by `encodeRegistry`. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRegistry } from '../../src/registry/definition.js';
import { repoDefinition } from '../workloads.js';
import type { RedisTarget } from './redis.js';

export interface BenchRepo {
  readonly dir: string;
  readonly project: string;
  remove(): void;
}

export function writeBenchRepo(project: string, redis: RedisTarget): BenchRepo {
  const dir = mkdtempSync(join(tmpdir(), `platter-bench-${project}-`));
  mkdirSync(join(dir, 'data'));
  writeFileSync(
    join(dir, 'feature_store.yaml'),
    [
      `project: ${project}`,
      'provider: local',
      'registry: data/registry.db',
      'online_store:',
      '  type: redis',
      `  connection_string: "${redis.connectionString}"`,
      'entity_key_serialization_version: 3',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'data', 'registry.db'), encodeRegistry(repoDefinition(project)));
  return { dir, project, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
