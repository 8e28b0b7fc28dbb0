/** Temporary Feast repos for tests: feature_store.yaml + a registry file written from a definition. */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRegistry, type RepoDefinition } from '../../src/registry/definition.js';

export interface TempRepo {
  dir: string;
  registryPath: string;
  /** Rewrites the registry (as `feast apply` would). */
  apply(def: RepoDefinition): void;
  remove(): void;
}

export function makeRepo(def: RepoDefinition, yaml: string): TempRepo {
  const dir = mkdtempSync(join(tmpdir(), 'platter-repo-'));
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'feature_store.yaml'), yaml);
  const registryPath = join(dir, 'data', 'registry.db');
  const apply = (d: RepoDefinition) => writeFileSync(registryPath, encodeRegistry(d));
  apply(def);
  return { dir, registryPath, apply, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function redisYaml(project: string, host: string, port: number, version: 2 | 3 = 3, extra = ''): string {
  return [
    `project: ${project}`,
    'provider: local',
    'registry:',
    '  path: data/registry.db',
    '  cache_ttl_seconds: 0',
    'online_store:',
    '  type: redis',
    `  connection_string: "${host}:${port}"`,
    `entity_key_serialization_version: ${version}`,
    extra,
  ].join('\n');
}
