import { pino, type Logger } from 'pino';

/** JSON logs to stderr (stdout stays free for command output such as `registry dump`). */
export function createLogger(level: string = process.env.PLATTER_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'platter' } }, pino.destination({ fd: 2, sync: false }));
}
