/** `platter <command>`: argument parsing and wiring only. */
import { parseArgs } from 'node:util';
import { isPlatterError } from '../errors.js';
import { createLogger } from '../ops/logger.js';
import { VERSION } from '../ops/version.js';

const USAGE = `platter ${VERSION}: a low-latency read path for Feast feature repos

Usage:
  platter serve   [--repo DIR] [--host HOST] [--port 6566] [--grpc-port 6570 | --no-grpc]
  platter example [--repo examples/driver_stats]
  platter version

  --repo, -c   the feature repo holding feature_store.yaml (default: current directory)
Environment: PLATTER_LOG_LEVEL (info), REDIS/registry settings come from feature_store.yaml.`;

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
  const { values } = parseArgs({
    args: rest,
    options: {
      repo: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      'grpc-port': { type: 'string' },
      'no-grpc': { type: 'boolean' },
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
      const { serve } = await import('./serve.js');
      const server = await serve({
        repo: values.repo ?? process.cwd(),
        host: values.host,
        port: intFlag(values.port, 'port'),
        grpcPort: values['no-grpc'] ? null : intFlag(values['grpc-port'], 'grpc-port'),
        logger,
      });
      const stop = (signal: string) => {
        logger.info({ signal }, 'shutting down');
        server.close().finally(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
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
