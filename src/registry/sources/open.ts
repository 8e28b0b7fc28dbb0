/** The registry source a repo's feature_store.yaml names. */
import type { Logger } from 'pino';
import type { RepoConfig } from '../../config/repo-config.js';
import { PlatterError } from '../../errors.js';
import { FileRegistrySource } from './file.js';
import type { RegistrySource } from './source.js';
import { SqlRegistrySource, type SqlRegistrySourceOptions } from './sql.js';

export interface OpenSourceOptions {
  readonly logger?: Logger;
  readonly sql?: Omit<SqlRegistrySourceOptions, 'logger'>;
}

/** A local file registry or a SQL registry on PostgreSQL; anything else is CONFIG_UNSUPPORTED. */
export function openRegistrySource(cfg: RepoConfig, opts: OpenSourceOptions = {}): RegistrySource {
  const r = cfg.registry;
  if (r.registryType === 'file' && r.localPath) return new FileRegistrySource(r.localPath);
  if (r.registryType === 'sql') {
    return new SqlRegistrySource(r, { ...opts.sql, ...(opts.logger ? { logger: opts.logger } : {}) });
  }
  throw new PlatterError(
    'CONFIG_UNSUPPORTED',
    `${cfg.configPath}: registry of type '${r.registryType}' cannot be read; use a local file registry (registry.path) or a SQL registry on PostgreSQL (registry_type: sql)`,
  );
}
