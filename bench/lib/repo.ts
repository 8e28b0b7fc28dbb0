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

/** `redisType` other than `redis` adds its `redis_type:` line (bench/cluster.ts: `redis_cluster` with the nodes as the connection string). */
export function writeBenchRepo(
  project: string,
  redis: Pick<RedisTarget, 'connectionString'>,
  redisType: 'redis' | 'redis_cluster' = 'redis',
): BenchRepo {
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
      ...(redisType !== 'redis' ? [`  redis_type: ${redisType}`] : []),
      `  connection_string: "${redis.connectionString}"`,
      'entity_key_serialization_version: 3',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'data', 'registry.db'), encodeRegistry(repoDefinition(project)));
  return { dir, project, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
