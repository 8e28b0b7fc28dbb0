/**
 * What `platter serve` can read, checked once at startup against a loaded RepoConfig. Loading
 * accepts every Feast-valid file; this refuses the parts a read server needs but cannot use yet,
 * all problems in one CONFIG_UNSUPPORTED error, each naming its key and what is supported.
 */
import { PlatterError } from '../errors.js';
import type { RepoConfig } from './repo-config.js';

const COPY_LOCALLY = 'copy the registry file locally and point `registry.path` at it';
const SUPPORTED_ONLINE = 'platter serve reads a Redis online store (redis_type redis or redis_cluster) or a SQLite online store';

/** Throws PlatterError CONFIG_UNSUPPORTED listing every part of `cfg` that `platter serve` cannot use. */
export function validateForServe(cfg: RepoConfig): void {
  const problems: string[] = [];

  const store = cfg.onlineStore;
  if (store === null) {
    problems.push(`\`online_store\` is null, so there is nothing to serve from; ${SUPPORTED_ONLINE}: set online_store to one of them`);
  } else if (store.type === 'unsupported') {
    problems.push(`\`online_store.type\` is ${JSON.stringify(store.name)}, which platter serve does not read; ${SUPPORTED_ONLINE}`);
  } else if (store.type === 'redis' && store.redisType === 'redis_sentinel') {
    problems.push('`online_store.redis_type` is "redis_sentinel", which is not supported yet; supported: redis, redis_cluster (point connection_string at the master)');
  }

  const reg = cfg.registry;
  switch (reg.registryType) {
    case 'file':
      if (reg.scheme !== 'local') {
        const where = reg.registryStoreType !== undefined ? `a ${reg.registryStoreType} (${reg.scheme})` : `${reg.scheme}://`;
        problems.push(`\`registry\` (registry.path ${JSON.stringify(reg.path)}) is on ${where} storage, which is not supported yet; ${COPY_LOCALLY}`);
      }
      break;
    case 'sql':
      if (reg.connection.driver !== 'postgresql') {
        problems.push(
          `\`registry.path\` is a SQL registry on ${JSON.stringify(reg.connection.driver)}; platter serve reads a SQL registry from PostgreSQL only (postgresql://, postgresql+psycopg://, postgresql+psycopg2://) or a local file registry`,
        );
      }
      if (reg.readConnection !== undefined && reg.readConnection.driver !== 'postgresql') {
        problems.push(`\`registry.read_path\` is on ${JSON.stringify(reg.readConnection.driver)}; platter serve reads a SQL registry from PostgreSQL only`);
      }
      break;
    case 'remote':
      problems.push(`\`registry.registry_type\` is "remote" (a Feast registry server at ${JSON.stringify(reg.path)}), which is not supported yet; ${COPY_LOCALLY}, or use the server's SQL registry directly`);
      break;
    case 'unsupported':
      problems.push(`\`registry.registry_type\` is ${JSON.stringify(reg.name)}, which platter serve does not read; supported: a file registry (local path) or a SQL registry on PostgreSQL; or ${COPY_LOCALLY}`);
      break;
  }

  if (reg.enableOnlineFeatureViewVersioning) {
    // Feast then stores versioned views under `<view>_v<N>` (helpers.py compute_versioned_name).
    problems.push(
      '`registry.enable_online_feature_view_versioning` is true, which platter serve does not read yet (versioned views live under `<view>_v<N>`); serve this repo with Feast or turn versioning off',
    );
  }

  if (problems.length === 0) return;
  const head = `${cfg.configPath}: platter serve cannot use ${problems.length === 1 ? 'this configuration' : `${problems.length} parts of this configuration`}:`;
  throw new PlatterError('CONFIG_UNSUPPORTED', [head, ...problems.map((p) => `  - ${p}`)].join('\n'));
}
