/**
 * Change notification for Feast's SQL registry on PostgreSQL. Feast has none (its servers poll and
 * reload everything; feast-compat.md §4.11), so `platter registry install-notify` adds a
 * statement-level trigger on each registry table that NOTIFYs `platter_registry` with
 * `schema.table`, and `platter serve` LISTENs on its own connection. Statement-level triggers fire
 * for deletes and truncates too (a `feast apply` that drops a feature service is a DELETE), and
 * NOTIFY is transactional: the event arrives after the commit, so a reload sees the change.
 */
import type { Logger } from 'pino';
import pg from 'pg';
import { PlatterError } from '../../errors.js';
import { WATCHED_TABLES, ident } from './sql-tables.js';
import type { RegistryWatchStatus } from './source.js';

export const NOTIFY_CHANNEL = 'platter_registry';
/** Name of the trigger on every table and of its function (in the registry tables' schema). */
export const NOTIFY_TRIGGER = 'platter_registry_notify';

/** The schema holding the registry tables as the connection's search_path resolves them, or null. */
export async function registrySchema(client: pg.ClientBase): Promise<string | null> {
  const res = await client.query<{ nspname: string }>(
    `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass('feature_views')`,
  );
  return res.rows[0]?.nspname ?? null;
}

export interface NotifyInstallation {
  readonly schema: string;
  /** Watched tables that carry the trigger. */
  readonly tables: readonly string[];
  /** Watched tables that do not exist in the schema (e.g. `label_views` before Feast 0.5x). */
  readonly missing: readonly string[];
}

async function existingTables(client: pg.ClientBase, schema: string): Promise<string[]> {
  const res = await client.query<{ t: string }>(
    `SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(quote_ident($2) || '.' || quote_ident(t)) IS NOT NULL`,
    [WATCHED_TABLES, schema],
  );
  const have = new Set(res.rows.map((r) => r.t));
  return WATCHED_TABLES.filter((t) => have.has(t));
}

async function requireSchema(client: pg.ClientBase, what: string): Promise<string> {
  const schema = await registrySchema(client);
  if (schema === null) {
    throw new PlatterError(
      'REGISTRY_UNAVAILABLE',
      `${what}: there is no Feast registry table \`feature_views\` on this connection's search_path; run \`feast apply\` against this registry first (or point registry.path at the right database / schema)`,
    );
  }
  return schema;
}

/** What is installed now: the schema and the watched tables that carry the trigger. */
export async function notifyStatus(client: pg.ClientBase): Promise<{ schema: string | null; tables: string[] }> {
  const schema = await registrySchema(client);
  if (schema === null) return { schema, tables: [] };
  const res = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE g.tgname = $1 AND n.nspname = $2 AND NOT g.tgisinternal`,
    [NOTIFY_TRIGGER, schema],
  );
  const on = new Set(res.rows.map((r) => r.relname));
  return { schema, tables: WATCHED_TABLES.filter((t) => on.has(t)) };
}

/**
 * Install (or re-install: idempotent, one transaction) the NOTIFY trigger on every watched table
 * that exists. Needs the right to create functions in the schema and to own the tables.
 */
export async function installNotify(client: pg.ClientBase): Promise<NotifyInstallation> {
  await client.query('BEGIN');
  try {
    const schema = await requireSchema(client, 'install-notify');
    const tables = await existingTables(client, schema);
    const fn = `${ident(schema)}.${ident(NOTIFY_TRIGGER)}`;
    // Payload `schema.table`, so a listener can ignore other registries in the same database.
    await client.query(
      `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  PERFORM pg_notify('${NOTIFY_CHANNEL}', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
  RETURN NULL;
END
$body$`,
    );
    for (const t of tables) {
      const on = `${ident(schema)}.${ident(t)}`;
      // DROP + CREATE rather than CREATE OR REPLACE TRIGGER (PostgreSQL 14+).
      await client.query(`DROP TRIGGER IF EXISTS ${ident(NOTIFY_TRIGGER)} ON ${on}`);
      await client.query(
        `CREATE TRIGGER ${ident(NOTIFY_TRIGGER)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${on} FOR EACH STATEMENT EXECUTE PROCEDURE ${fn}()`,
      );
    }
    await client.query('COMMIT');
    return { schema, tables, missing: WATCHED_TABLES.filter((t) => !tables.includes(t)) };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw asUnavailable(err, 'install-notify');
  }
}

/** Remove the triggers and the function (idempotent). */
export async function uninstallNotify(client: pg.ClientBase): Promise<{ schema: string; tables: string[] }> {
  await client.query('BEGIN');
  try {
    const schema = await requireSchema(client, 'uninstall-notify');
    const tables = await existingTables(client, schema);
    for (const t of tables) await client.query(`DROP TRIGGER IF EXISTS ${ident(NOTIFY_TRIGGER)} ON ${ident(schema)}.${ident(t)}`);
    await client.query(`DROP FUNCTION IF EXISTS ${ident(schema)}.${ident(NOTIFY_TRIGGER)}()`);
    await client.query('COMMIT');
    return { schema, tables };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw asUnavailable(err, 'uninstall-notify');
  }
}

function asUnavailable(err: unknown, what: string): unknown {
  if (err instanceof PlatterError) return err;
  const e = err as Error & { code?: string };
  const hint = e.code === '42501' ? ' (the registry user must own the Feast tables and may create functions in their schema)' : '';
  return new PlatterError('REGISTRY_UNAVAILABLE', `${what} failed: ${e.message}${hint}`, { cause: err });
}

export interface ListenerOptions {
  /** Connection settings (TLS resolved); LISTEN needs the primary: a hot standby refuses it. */
  readonly config: () => Promise<pg.ClientConfig>;
  readonly onEvent: (reason: string) => void;
  readonly logger: Logger;
  /** Reconnect backoff: first delay, doubled per failure up to `maxBackoffMs`, with jitter. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A `SELECT 1` this often finds a connection that died without a FIN. @default 30000 */
  readonly heartbeatMs?: number;
}

export interface ListenerStatus extends RegistryWatchStatus {
  /** PostgreSQL backend pid of the LISTEN connection, while connected. */
  readonly backendPid: number | null;
  /** Tables carrying the trigger, as seen at the last connect. */
  readonly triggerTables: readonly string[];
}

/**
 * One dedicated pg.Client that LISTENs, reconnects with backoff after any loss (server restart,
 * pg_terminate_backend, network), and reports a `listen connected` event after every (re)connect
 * so that changes made while it was away are picked up by the change token.
 */
export class PgNotifyListener {
  readonly #opts: ListenerOptions;
  #client: pg.Client | null = null;
  /** Bumped on every connect and loss: events from an older client are ignored. */
  #gen = 0;
  #attempt = 0;
  #retry: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #closed = false;
  #schema: string | null = null;
  #warnedNoTrigger = false;
  #status = { kind: 'listen', connected: false, connects: 0, events: 0, backendPid: null as number | null, triggerTables: [] as string[] };

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
  }

  get status(): ListenerStatus {
    return { ...this.#status, triggerTables: [...this.#status.triggerTables] };
  }

  start(): void {
    void this.#connect();
  }

  async #connect(): Promise<void> {
    this.#retry = null;
    if (this.#closed) return;
    const gen = ++this.#gen;
    const { logger } = this.#opts;
    let client: pg.Client | null = null;
    try {
      const cfg = await this.#opts.config();
      if (this.#closed || gen !== this.#gen) return;
      client = new pg.Client({
        ...cfg,
        application_name: `${cfg.application_name ?? 'platter'} listen`,
        keepAlive: true,
        query_timeout: cfg.query_timeout ?? 10_000,
      });
      const c = client;
      this.#client = c;
      c.on('error', (err) => this.#lost(gen, c, err));
      c.on('end', () => this.#lost(gen, c, new Error('connection ended')));
      c.on('notification', (msg) => {
        if (gen !== this.#gen || msg.channel !== NOTIFY_CHANNEL) return;
        if (this.#schema !== null && msg.payload && !msg.payload.startsWith(`${this.#schema}.`)) return;
        this.#status.events++;
        this.#opts.onEvent('notify');
      });
      await c.connect();
      await c.query(`LISTEN ${NOTIFY_CHANNEL}`);
      const installed = await notifyStatus(c);
      if (gen !== this.#gen) return;
      this.#schema = installed.schema;
      this.#status.triggerTables = installed.tables;
      this.#status.backendPid = (c as unknown as { processID?: number }).processID ?? null;
      this.#status.connected = true;
      this.#status.connects++;
      this.#attempt = 0;
      if (installed.tables.length === 0) {
        if (!this.#warnedNoTrigger) {
          logger.warn(
            { channel: NOTIFY_CHANNEL, schema: installed.schema },
            'the registry has no NOTIFY trigger: changes arrive with the poll (registry.cache_ttl_seconds) only; run `platter registry install-notify` to get them within a second',
          );
          this.#warnedNoTrigger = true;
        }
      } else {
        logger.info({ channel: NOTIFY_CHANNEL, schema: installed.schema, backendPid: this.#status.backendPid }, 'listening for registry changes');
      }
      const every = this.#opts.heartbeatMs ?? 30_000;
      this.#heartbeat = setInterval(() => {
        c.query('SELECT 1').catch((err: Error) => this.#lost(gen, c, err));
      }, every);
      this.#heartbeat.unref();
      this.#opts.onEvent('listen connected');
    } catch (err) {
      if (client !== null) this.#lost(gen, client, err as Error);
      else this.#lost(gen, null, err as Error);
    }
  }

  #lost(gen: number, client: pg.Client | null, err: Error): void {
    if (gen !== this.#gen) return;
    this.#gen++;
    const wasConnected = this.#status.connected;
    this.#status.connected = false;
    this.#status.backendPid = null;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    if (client !== null) {
      client.removeAllListeners('notification');
      client.on('error', () => undefined);
      client.end().catch(() => undefined);
    }
    if (this.#client === client) this.#client = null;
    if (this.#closed) return;
    const min = this.#opts.minBackoffMs ?? 100;
    const max = this.#opts.maxBackoffMs ?? 10_000;
    const delay = Math.min(max, min * 2 ** this.#attempt) * (0.5 + Math.random() / 2);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    const log = wasConnected || this.#attempt === 1 ? this.#opts.logger.warn.bind(this.#opts.logger) : this.#opts.logger.debug.bind(this.#opts.logger);
    log({ err: err.message, retryInMs: Math.round(delay) }, wasConnected ? 'registry LISTEN connection lost; reconnecting' : 'registry LISTEN connection failed; retrying');
    this.#retry = setTimeout(() => void this.#connect(), delay);
    this.#retry.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#gen++;
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#status.connected = false;
    const c = this.#client;
    this.#client = null;
    if (c !== null) {
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
    }
  }
}
