/**
 * `platter registry <dump | install-notify | uninstall-notify>`: the registry named by the repo's
 * feature_store.yaml, like every platter command.
 */
import type { Logger } from 'pino';
import { loadRepoConfig } from '../config/load.js';
import { PlatterError } from '../errors.js';
import { dumpIndex, renderDumpTable } from '../registry/dump.js';
import { buildRegistryIndex } from '../registry/registry-index.js';
import { openRegistrySource } from '../registry/sources/open.js';
import { NOTIFY_CHANNEL, NOTIFY_TRIGGER, installNotify, uninstallNotify } from '../registry/sources/sql-notify.js';
import { SqlRegistrySource } from '../registry/sources/sql.js';

export interface RegistryCommandOptions {
  readonly repo: string;
  /** Dump this project instead of the configured one. */
  readonly project?: string | undefined;
  readonly format?: 'table' | 'json';
  readonly logger: Logger;
  readonly env?: Record<string, string | undefined>;
}

export const REGISTRY_SUBCOMMANDS = ['dump', 'install-notify', 'uninstall-notify'] as const;

/** Runs a subcommand and returns what it prints on stdout. Throws PlatterError on failure. */
export async function registryCommand(sub: string | undefined, opts: RegistryCommandOptions): Promise<string> {
  const config = loadRepoConfig(opts.repo, opts.env ? { env: opts.env } : undefined);
  switch (sub) {
    case 'dump': {
      const source = openRegistrySource(config, { logger: opts.logger });
      try {
        const loaded = await source.load();
        const index = buildRegistryIndex(loaded.registry, opts.project ?? config.project);
        const dump = dumpIndex(index, source.description);
        return opts.format === 'json' ? JSON.stringify(dump, null, 2) + '\n' : renderDumpTable(dump);
      } finally {
        await source.close?.();
      }
    }
    case 'install-notify':
    case 'uninstall-notify': {
      const reg = config.registry;
      if (reg.registryType !== 'sql') {
        throw new PlatterError(
          'CONFIG_UNSUPPORTED',
          `${config.configPath}: \`platter registry ${sub}\` is for a SQL registry on PostgreSQL (registry_type: sql); this repo's registry is a ${reg.registryType} registry${reg.registryType === 'file' ? ', which `platter serve` already watches' : ''}`,
        );
      }
      const source = new SqlRegistrySource(reg, { logger: opts.logger });
      try {
        const client = await source.adminClient();
        try {
          if (sub === 'install-notify') {
            const r = await installNotify(client);
            return (
              `installed trigger ${NOTIFY_TRIGGER} on ${r.tables.map((t) => `${r.schema}.${t}`).join(', ')}\n` +
              `platter serve LISTENs on channel ${NOTIFY_CHANNEL} and refreshes within a second of a change\n` +
              (r.missing.length > 0 ? `not present (skipped): ${r.missing.join(', ')}; run install-notify again after a Feast upgrade creates them\n` : '')
            );
          }
          const r = await uninstallNotify(client);
          return `removed trigger ${NOTIFY_TRIGGER} from ${r.tables.map((t) => `${r.schema}.${t}`).join(', ') || '(no tables)'}; platter serve falls back to polling\n`;
        } finally {
          await client.end().catch(() => undefined);
        }
      } finally {
        await source.close();
      }
    }
    default:
      throw new PlatterError(
        'INVALID_ARGUMENT',
        `${sub === undefined ? 'missing' : `unknown`} registry subcommand${sub === undefined ? '' : ` '${sub}'`}; use one of ${REGISTRY_SUBCOMMANDS.join(', ')}`,
      );
  }
}
