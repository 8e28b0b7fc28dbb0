/**
 * Feast's SQL registry URL (a SQLAlchemy URL, already split by config/load.ts `parseSqlUrl`) ->
 * node-postgres connection settings. Feast hands the URL to SQLAlchemy, which hands user, password,
 * host, port, database and every query parameter to psycopg / psycopg2, i.e. to libpq; this maps
 * the libpq parameters a registry URL carries (sslmode and friends, options, application_name,
 * connect_timeout, host/port/user/password/dbname given as query parameters).
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { SqlConnection } from '../../config/repo-config.js';
import { PlatterError } from '../../errors.js';

/** The libpq sslmode values (https://www.postgresql.org/docs/current/libpq-ssl.html). */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Query parameters we map; others (e.g. psycopg's `prepare_threshold`) mean nothing to a reader. */
const MAPPED_PARAMS = new Set([
  'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'options', 'application_name', 'connect_timeout',
  'host', 'port', 'user', 'password', 'dbname', 'target_session_attrs',
]);

export interface PgTarget {
  /** Settings for pg.Client / pg.Pool without TLS; `ssl` comes from `sslFor(mode)`. */
  readonly base: pg.ClientConfig;
  /** libpq's default is `prefer`. */
  readonly sslmode: SslMode;
  readonly tls: ConnectionOptions;
  /** `postgresql+psycopg://user@host:port/db` with no password, for logs and errors. */
  readonly description: string;
  /** Query parameters given but not used (for a debug line). */
  readonly ignoredParams: readonly string[];
}

function param(conn: SqlConnection, key: string): string | undefined {
  const v = conn.params[key];
  return v === undefined ? undefined : typeof v === 'string' ? v : v[v.length - 1];
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new PlatterError('CONFIG_INVALID', `registry URL parameter \`${key}\` names ${path}, which cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/** Redacted description of a registry URL: never carries the password. */
export function describeConnection(conn: SqlConnection): string {
  const host = conn.host ?? param(conn, 'host') ?? 'localhost';
  const port = conn.port ?? param(conn, 'port') ?? 5432;
  const user = conn.user ?? param(conn, 'user');
  const db = conn.database ?? param(conn, 'dbname') ?? '';
  return `${conn.scheme}://${user ? `${user}@` : ''}${host.includes(':') ? `[${host}]` : host}:${port}/${db}`;
}

/**
 * Resolve a parsed registry URL into pg settings. Throws CONFIG_UNSUPPORTED for a non-PostgreSQL
 * URL and CONFIG_INVALID for a bad sslmode or unreadable certificate file.
 */
export function pgTarget(conn: SqlConnection, key = 'registry.path'): PgTarget {
  if (conn.driver !== 'postgresql') {
    throw new PlatterError(
      'CONFIG_UNSUPPORTED',
      `\`${key}\` is a ${conn.driver} URL; Platter reads Feast's SQL registry from PostgreSQL only (postgresql://, postgresql+psycopg://, postgresql+psycopg2://)`,
    );
  }
  // libpq: the URL's sslmode, else PGSSLMODE, else prefer.
  const rawMode = param(conn, 'sslmode') ?? (process.env.PGSSLMODE || 'prefer');
  if (!(SSL_MODES as readonly string[]).includes(rawMode)) {
    throw new PlatterError('CONFIG_INVALID', `\`${key}\` has sslmode=${rawMode}; expected one of ${SSL_MODES.join(', ')}`);
  }
  const sslmode = rawMode as SslMode;

  const tls: ConnectionOptions = {};
  const rootcert = param(conn, 'sslrootcert');
  if (rootcert !== undefined && rootcert !== 'system') tls.ca = readPem(rootcert, 'sslrootcert');
  const cert = param(conn, 'sslcert');
  if (cert !== undefined) tls.cert = readPem(cert, 'sslcert');
  const sslkey = param(conn, 'sslkey');
  if (sslkey !== undefined) tls.key = readPem(sslkey, 'sslkey');

  const portParam = param(conn, 'port');
  const connectTimeout = param(conn, 'connect_timeout');
  const base: pg.ClientConfig = {};
  const host = conn.host ?? param(conn, 'host');
  if (host !== undefined) base.host = host;
  const port = conn.port ?? (portParam !== undefined && /^\d+$/.test(portParam) ? Number(portParam) : undefined);
  if (port !== undefined) base.port = port;
  const user = conn.user ?? param(conn, 'user');
  if (user !== undefined) base.user = user;
  const password = conn.password ?? param(conn, 'password');
  if (password !== undefined) base.password = password;
  const database = conn.database || param(conn, 'dbname');
  if (database !== undefined && database !== '') base.database = database;
  const options = param(conn, 'options');
  if (options !== undefined) base.options = options;
  const app = param(conn, 'application_name');
  base.application_name = app ?? 'platter';
  if (connectTimeout !== undefined && /^\d+$/.test(connectTimeout) && Number(connectTimeout) > 0) {
    base.connectionTimeoutMillis = Number(connectTimeout) * 1000;
  }
  return {
    base,
    sslmode,
    tls,
    description: describeConnection(conn),
    ignoredParams: Object.keys(conn.params).filter((k) => !MAPPED_PARAMS.has(k)),
  };
}

/**
 * The pg `ssl` setting for one attempt. libpq's `prefer` and `allow` fall back between TLS and
 * plain; pg has no fallback, so `connectWithSslFallback` makes the second attempt.
 */
export function sslFor(target: PgTarget, attempt: 'tls' | 'plain'): pg.ClientConfig['ssl'] {
  if (attempt === 'plain') return false;
  switch (target.sslmode) {
    case 'verify-full':
      return { ...target.tls, rejectUnauthorized: true };
    case 'verify-ca':
      // The chain is checked, the host name is not (libpq verify-ca).
      return { ...target.tls, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    default:
      // require / prefer / allow encrypt without verifying, as libpq does without a root cert;
      // with `sslrootcert`, libpq's `require` verifies the chain like verify-ca.
      return target.tls.ca !== undefined && target.sslmode === 'require'
        ? { ...target.tls, rejectUnauthorized: true, checkServerIdentity: () => undefined }
        : { ...target.tls, rejectUnauthorized: false };
  }
}

/** The attempts libpq makes for a mode, in order. */
export function sslAttempts(mode: SslMode): readonly ('tls' | 'plain')[] {
  switch (mode) {
    case 'disable':
      return ['plain'];
    case 'allow':
      return ['plain', 'tls'];
    case 'prefer':
      return ['tls', 'plain'];
    default:
      return ['tls'];
  }
}

/** Errors after which libpq's prefer/allow would try the other transport. */
export function isTransportRefusal(err: unknown): boolean {
  const msg = (err as Error)?.message ?? '';
  return /does not support SSL|no pg_hba\.conf entry|SSL off|SSL required|requires encryption/i.test(msg);
}
