/**
 * Feast's SQL registry on PostgreSQL (`registry_type: sql`), read exactly as Feast writes it
 * (sdk/python/feast/infra/registry/sql.py; feast-compat.md §4.11) and re-assembled into a
 * feast.core.Registry object the way `SqlRegistry.proto()` does: every project, every object table
 * listed per project, `spec.project` (DataSource: `project`) stamped from the `project_id` column.
 *
 * Loads use a small pool (2 connections) on `read_path` when set, else `path`; the LISTEN
 * connection (sql-notify.ts) uses `path`, since a hot standby cannot LISTEN. Every statement has a
 * server-side `statement_timeout` and a client-side `query_timeout`.
 */
import type { Logger } from 'pino';
import pg from 'pg';
import type { SqlRegistryConfig } from '../../config/repo-config.js';
import { PlatterError } from '../../errors.js';
import { protoType } from '../../proto/root.js';
import { TO_OBJECT, decodeMessage } from './decode.js';
import { isTransportRefusal, pgTarget, sslAttempts, sslFor, type PgTarget } from './pg-connection.js';
import { PgNotifyListener } from './sql-notify.js';
import { OBJECT_TABLES, REQUIRED_TABLES, WATCHED_TABLES, ident } from './sql-tables.js';
import type { LoadedRegistry, RegistrySource, RegistryWatch, RegistryWatchStatus } from './source.js';

export interface SqlRegistrySourceOptions {
  readonly logger?: Logger;
  /** Server-side statement_timeout of every query, and the connect timeout. @default 5000 */
  readonly statementTimeoutMs?: number;
  /** Reconnect backoff and heartbeat of the LISTEN connection (tests shorten them). */
  readonly listen?: { minBackoffMs?: number; maxBackoffMs?: number; heartbeatMs?: number };
}

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Resolves the TLS choice of a target once (libpq prefer/allow try both transports). */
class Endpoint {
  readonly target: PgTarget;
  readonly #timeoutMs: number;
  #config: Promise<pg.ClientConfig> | null = null;

  constructor(target: PgTarget, timeoutMs: number) {
    this.target = target;
    this.#timeoutMs = timeoutMs;
  }

  config(): Promise<pg.ClientConfig> {
    this.#config ??= this.#resolve().catch((err) => {
      this.#config = null; // retry the probe next time (the server may be down)
      throw err;
    });
    return this.#config;
  }

  async #resolve(): Promise<pg.ClientConfig> {
    const base: pg.ClientConfig = {
      ...this.target.base,
      statement_timeout: this.#timeoutMs,
      query_timeout: this.#timeoutMs + 1000,
      connectionTimeoutMillis: this.target.base.connectionTimeoutMillis ?? this.#timeoutMs,
    };
    const attempts = sslAttempts(this.target.sslmode);
    if (attempts.length === 1) return { ...base, ssl: sslFor(this.target, attempts[0]!) };
    let last: unknown;
    for (const attempt of attempts) {
      const cfg = { ...base, ssl: sslFor(this.target, attempt) };
      const probe = new pg.Client(cfg);
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.end().catch(() => undefined);
        return cfg;
      } catch (err) {
        await probe.end().catch(() => undefined);
        last = err;
        if (!isTransportRefusal(err)) throw err;
      }
    }
    throw last;
  }
}

export class SqlRegistrySource implements RegistrySource {
  readonly description: string;
  readonly #read: Endpoint;
  readonly #write: Endpoint;
  readonly #opts: SqlRegistrySourceOptions;
  #pool: pg.Pool | null = null;
  /** Watched tables that exist, once all of them do (until then, looked up on every check). */
  #tables: string[] | null = null;
  #listener: PgNotifyListener | null = null;
  #closed = false;

  constructor(cfg: SqlRegistryConfig, opts: SqlRegistrySourceOptions = {}) {
    const timeout = opts.statementTimeoutMs ?? 5000;
    const write = pgTarget(cfg.connection, 'registry.path');
    const read = cfg.readConnection !== undefined ? pgTarget(cfg.readConnection, 'registry.read_path') : write;
    this.#write = new Endpoint(write, timeout);
    this.#read = read === write ? this.#write : new Endpoint(read, timeout);
    this.#opts = opts;
    this.description = `SQL registry ${read.description}${read === write ? '' : ` (read_path; NOTIFY from ${write.description})`}`;
    for (const t of [write, read]) {
      if (t.ignoredParams.length > 0) opts.logger?.debug({ params: t.ignoredParams }, 'registry URL parameters with no meaning to a reader are ignored');
    }
  }

  get watchStatus(): RegistryWatchStatus {
    return this.#listener?.status ?? { kind: 'listen', connected: false, connects: 0, events: 0 };
  }

  /** The LISTEN connection's state (backend pid, tables with the trigger), for tests and ops. */
  get listenerStatus(): PgNotifyListener['status'] | null {
    return this.#listener?.status ?? null;
  }

  async #getPool(): Promise<pg.Pool> {
    if (this.#pool !== null) return this.#pool;
    const cfg = await this.#read.config();
    if (this.#pool !== null) return this.#pool;
    if (this.#closed) throw new PlatterError('REGISTRY_UNAVAILABLE', `${this.description}: closed`);
    const pool = new pg.Pool({ ...cfg, max: 2, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
    // An idle client losing its connection (server restart, pg_terminate_backend) is emitted here;
    // without a listener it would crash the process. The pool drops that client by itself.
    pool.on('error', (err) => this.#opts.logger?.warn({ err: err.message }, 'registry database connection lost (idle); it will be replaced'));
    this.#pool = pool;
    return pool;
  }

  #unavailable(err: unknown, doing: string): PlatterError {
    if (err instanceof PlatterError) return err;
    const e = err as Error & { code?: string };
    return new PlatterError(
      'REGISTRY_UNAVAILABLE',
      `cannot read ${this.description} (${doing}): ${e.message}${e.code ? ` [${e.code}]` : ''}`,
      { cause: err },
    );
  }

  async #existingTables(q: Queryable): Promise<string[]> {
    const res = await q.query<{ t: string }>(
      'SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(quote_ident(t)) IS NOT NULL',
      [WATCHED_TABLES],
    );
    const have = new Set(res.rows.map((r) => r.t));
    return WATCHED_TABLES.filter((t) => have.has(t));
  }

  /**
   * One query: per table the row count (deletes lower it), the max `last_updated_timestamp`
   * (Feast's own marker, epoch seconds), and the sum of the rows' `xmin` (the transaction that
   * wrote each row version): every insert or update writes a new `xmin`, so two applies within the
   * same second, or a delete plus an insert, still change the token. The tables are tiny and the
   * protos are TOASTed out of line, so this reads a few heap pages.
   */
  async #marker(q: Queryable, tables: readonly string[]): Promise<string> {
    const sql = tables
      .map(
        (t) =>
          `SELECT '${t}' AS t, count(*)::text AS n, coalesce(max(last_updated_timestamp), 0)::text AS ts, coalesce(sum(xmin::text::bigint), 0)::text AS x FROM ${ident(t)}`,
      )
      .join(' UNION ALL ');
    const res = await q.query<{ t: string; n: string; ts: string; x: string }>(sql);
    return res.rows.map((r) => `${r.t}:${r.n}:${r.ts}:${r.x}`).join(';');
  }

  async changeToken(): Promise<string> {
    try {
      const pool = await this.#getPool();
      let tables = this.#tables;
      if (tables === null) {
        tables = await this.#existingTables(pool);
        if (tables.length === WATCHED_TABLES.length) this.#tables = tables;
      }
      if (!REQUIRED_TABLES.every((t) => tables.includes(t))) return `no-registry:${tables.join(',')}`;
      try {
        return await this.#marker(pool, tables);
      } catch (err) {
        if ((err as { code?: string }).code === '42P01') this.#tables = null; // a table went away
        throw err;
      }
    } catch (err) {
      throw this.#unavailable(err, 'change check');
    }
  }

  async load(): Promise<LoadedRegistry> {
    let client: pg.PoolClient;
    try {
      client = await (await this.#getPool()).connect();
    } catch (err) {
      throw this.#unavailable(err, 'connect');
    }
    let broken = false;
    try {
      // One snapshot for the whole registry: a concurrent `feast apply` is seen whole or not at all
      // per statement, and the token matches what was read.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const tables = await this.#existingTables(client);
      const missing = REQUIRED_TABLES.filter((t) => !tables.includes(t));
      if (missing.length > 0) {
        throw new PlatterError(
          'REGISTRY_UNAVAILABLE',
          `${this.description} has no Feast registry tables (${missing.join(', ')} missing from the search_path); run \`feast apply\` with this registry, or fix registry.path (database, ?options=-csearch_path%3D<schema>)`,
        );
      }
      const token = await this.#marker(client, tables);
      const rows = new Map<string, pg.QueryResult>();
      const read = async (what: string, sql: string) => {
        try {
          rows.set(what, await client.query(sql));
        } catch (err) {
          throw this.#unavailable(err, `reading ${what === 'objects' ? 'the object tables' : `table ${what}`}`);
        }
      };
      if (tables.includes('projects')) {
        await read('projects', 'SELECT project_id, project_name, last_updated_timestamp, project_proto FROM projects ORDER BY project_id');
      }
      if (tables.includes('feast_metadata')) {
        await read('feast_metadata', 'SELECT DISTINCT project_id FROM feast_metadata ORDER BY project_id');
      }
      // Every object table in one round trip.
      const present = OBJECT_TABLES.filter((t) => tables.includes(t.table));
      await read(
        'objects',
        present
          .map((t) => `SELECT '${t.table}' AS t, project_id, ${ident(t.idColumn)}::text AS name, ${ident(t.protoColumn)} AS proto FROM ${ident(t.table)}`)
          .join(' UNION ALL ') + ' ORDER BY t, project_id, name',
      );
      await client.query('COMMIT');
      const byTable = new Map<string, pg.QueryResult['rows']>();
      for (const r of rows.get('objects')!.rows) {
        let list = byTable.get(r.t);
        if (list === undefined) byTable.set(r.t, (list = []));
        list.push(r);
      }
      return { registry: assemble(rows.get('projects')?.rows, rows.get('feast_metadata')?.rows, byTable), token };
    } catch (err) {
      broken = !(err instanceof PlatterError && err.code === 'REGISTRY_INVALID');
      await client.query('ROLLBACK').catch(() => undefined);
      throw err instanceof PlatterError ? err : this.#unavailable(err, 'load');
    } finally {
      client.release(broken);
    }
  }

  watch(onEvent: (reason: string) => void, logger: Logger): RegistryWatch {
    const listener = new PgNotifyListener({
      config: () => this.#write.config(),
      onEvent,
      logger,
      ...this.#opts.listen,
    });
    this.#listener = listener;
    listener.start();
    return { close: () => listener.close() };
  }

  /** A client on `path` (the primary), for `platter registry install-notify`. Caller ends it. */
  async adminClient(): Promise<pg.Client> {
    const client = new pg.Client(await this.#write.config());
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw this.#unavailable(err, 'connect');
    }
    return client;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#listener?.close();
    const pool = this.#pool;
    this.#pool = null;
    await pool?.end().catch(() => undefined);
  }
}

/**
 * Rows -> a feast.core.Registry object, as SqlRegistry.proto() builds it: the projects from the
 * `projects` table (plus projects known only from `feast_metadata`, which Feast's own start-up
 * sync would add to `projects`), and each object of a known project with its project stamped in.
 */
function assemble(
  projectRows: readonly Record<string, any>[] | undefined,
  metadataRows: readonly Record<string, any>[] | undefined,
  objectRows: ReadonlyMap<string, readonly Record<string, any>[]>,
): Record<string, any> {
  const RegistryT = protoType('feast.core.Registry');
  const registry: Record<string, any> = RegistryT.toObject(RegistryT.create(), TO_OBJECT);

  const known = projectRows === undefined && metadataRows === undefined ? null : new Set<string>();
  let lastUpdated: { seconds: number; nanos: number } | null = null;
  for (const r of projectRows ?? []) {
    const where = `projects row (project_id '${r.project_id}')`;
    const p = decodeMessage('feast.core.Project', r.project_proto, `${where}: project_proto`);
    const name = p.spec?.name ?? '';
    if (name !== r.project_name) {
      throw new PlatterError('REGISTRY_INVALID', `${where}: project_proto names project '${name}', the row says '${r.project_name}'`);
    }
    known!.add(String(r.project_id));
    registry.projects.push(p);
    const ts = p.meta?.last_updated_timestamp;
    if (ts && (lastUpdated === null || ts.seconds > lastUpdated.seconds || (ts.seconds === lastUpdated.seconds && ts.nanos > lastUpdated.nanos))) {
      lastUpdated = { seconds: Number(ts.seconds), nanos: Number(ts.nanos) };
    }
  }
  const ProjectT = protoType('feast.core.Project');
  for (const r of metadataRows ?? []) {
    const id = String(r.project_id);
    if (known!.has(id)) continue;
    known!.add(id);
    registry.projects.push(ProjectT.toObject(ProjectT.fromObject({ spec: { name: id } }), TO_OBJECT));
  }
  if (lastUpdated !== null) registry.last_updated = lastUpdated;

  for (const t of OBJECT_TABLES) {
    for (const r of objectRows.get(t.table) ?? []) {
      const project = String(r.project_id);
      if (known !== null && !known.has(project)) continue; // Feast's proto() lists known projects only
      const where = `${t.table} row (project_id '${project}', ${t.idColumn} '${r.name}')`;
      if (!(r.proto instanceof Uint8Array)) throw new PlatterError('REGISTRY_INVALID', `${where}: ${t.protoColumn} is NULL`);
      const obj = decodeMessage(t.type, r.proto, `${where}: ${t.protoColumn}`);
      const holder: Record<string, any> = t.stamp === 'spec' ? (obj.spec ??= {}) : obj;
      // Feast writes the row under the object's own name; anything else is a damaged or foreign row.
      if (holder.name !== r.name) {
        throw new PlatterError('REGISTRY_INVALID', `${where}: ${t.protoColumn} holds an object named '${holder.name ?? ''}'`);
      }
      holder.project = project;
      registry[t.field].push(obj);
    }
  }
  return registry;
}
