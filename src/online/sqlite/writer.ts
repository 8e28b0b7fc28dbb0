import Database from 'better-sqlite3';
import type { OnlineWriteRow } from '../redis/writer.js';
import { quoteId, sqliteTableName } from './layout.js';

/**
 * Writes rows in Feast's SQLite layout (sqlite.py `update` DDL and `online_write_batch` upsert).
 * Feast's SQLite store has no newer-wins check: the last write wins, as here.
 */
export class SqliteOnlineWriter {
  readonly #db: Database.Database;
  readonly #project: string;

  constructor(path: string, project: string) {
    this.#db = new Database(path);
    this.#project = project;
  }

  /** Feast's `update()` for one view: the table and its entity-key index. */
  ensureTable(viewName: string): void {
    const t = sqliteTableName(this.#project, viewName);
    this.#db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteId(t)} (entity_key BLOB, feature_name TEXT, value BLOB, value_text TEXT, vector_value BLOB, event_ts timestamp, created_ts timestamp, PRIMARY KEY(entity_key, feature_name))`,
    );
    this.#db.exec(`CREATE INDEX IF NOT EXISTS ${quoteId(`${t}_ek`)} ON ${quoteId(t)} (entity_key)`);
  }

  write(viewName: string, rows: readonly OnlineWriteRow[], createdTs: number | null = null): number {
    this.ensureTable(viewName);
    const t = quoteId(sqliteTableName(this.#project, viewName));
    const stmt = this.#db.prepare(
      `INSERT INTO ${t} (entity_key, feature_name, value, value_text, event_ts, created_ts) VALUES (?, ?, ?, ?, ?, ?) ` +
        'ON CONFLICT(entity_key, feature_name) DO UPDATE SET value = excluded.value, value_text = excluded.value_text, ' +
        'event_ts = excluded.event_ts, created_ts = excluded.created_ts',
    );
    let n = 0;
    this.#db.transaction(() => {
      for (const r of rows) {
        for (const [feature, value] of r.values) {
          // Feast's adapter stores datetimes as integer epoch seconds.
          stmt.run(r.entityKey, feature, value, null, r.eventTs.seconds, createdTs);
        }
        n++;
      }
    })();
    return n;
  }

  close(): void {
    this.#db.close();
  }
}
