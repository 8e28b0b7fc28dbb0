/** `platter <command>`: argument parsing and wiring only. */
import { parseArgs } from 'node:util';
import { isPlatterError } from '../errors.js';
import { createLogger } from '../ops/logger.js';
import { VERSION } from '../ops/version.js';

const USAGE = `platter ${VERSION}: a low-latency read path for Feast feature repos

Usage:
  platter serve   [--repo DIR] [--host HOST] [--port 6566] [--grpc-port 6570 | --no-grpc]
                  [--admin-port PORT] [--workers N|auto]
  platter registry dump [--repo DIR] [--project NAME] [--json]
  platter registry install-notify [--repo DIR]
  platter registry uninstall-notify [--repo DIR]
  platter example [--repo examples/driver_stats]
  platter version

  --repo, -c     the feature repo holding feature_store.yaml (default: current directory)
  --workers, -w  serving processes sharing the HTTP and gRPC ports (also platter.workers;
                 default 1; auto = one per core): one process uses one core
  --admin-port   serve POST /admin/refresh-registry and GET /metrics on this port (also
                 platter.admin.port); needs a token: PLATTER_ADMIN_TOKEN or platter.admin.token
  registry dump  prints the resolved registry (projects, entities, views, services) as the server
                 sees it; --json for JSON
  registry install-notify  adds a NOTIFY trigger to Feast's SQL registry tables (idempotent), so
                 platter serve refreshes within a second of a feast apply instead of on the poll
Environment: PLATTER_LOG_LEVEL (info), PLATTER_ADMIN_TOKEN; Redis/registry settings come from
feature_store.yaml.`;

function intFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`platter: --${name} must be a port number (0-65535), got '${v}'`);
    process.exit(2);
  }
  return n;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // `platter registry <subcommand> [flags]`
  const sub = command === 'registry' && rest[0] !== undefined && !rest[0].startsWith('-') ? rest.shift() : undefined;
  const { values } = parseArgs({
    args: rest,
    options: {
      repo: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      'grpc-port': { type: 'string' },
      'no-grpc': { type: 'boolean' },
      'admin-port': { type: 'string' },
      workers: { type: 'string', short: 'w' },
      project: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || command === undefined || command === 'help') {
    console.log(USAGE);
    return;
  }
  const logger = createLogger();
  switch (command) {
    case 'serve': {
      const { serveCommand } = await import('./serve-command.js');
      await serveCommand(
        {
          repo: values.repo ?? process.cwd(),
          host: values.host,
          port: intFlag(values.port, 'port'),
          grpcPort: values['no-grpc'] ? null : intFlag(values['grpc-port'], 'grpc-port'),
          adminPort: intFlag(values['admin-port'], 'admin-port'),
          logger,
        },
        values.workers,
      );
      return;
    }
    case 'registry': {
      const { registryCommand } = await import('./registry.js');
      const out = await registryCommand(sub, {
        repo: values.repo ?? process.cwd(),
        project: values.project,
        format: values.json ? 'json' : 'table',
        logger,
      });
      process.stdout.write(out);
      logger.flush();
      return;
    }
    case 'example': {
      const { buildExample } = await import('./example.js');
      await buildExample(values.repo ?? 'examples/driver_stats', logger);
      logger.flush();
      return;
    }
    case 'version':
      console.log(VERSION);
      return;
    default:
      console.error(`platter: unknown command '${command}'\n\n${USAGE}`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (isPlatterError(err)) {
    console.error(`platter: ${err.code}: ${err.message}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
