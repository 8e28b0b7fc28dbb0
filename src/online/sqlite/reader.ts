import Database from 'better-sqlite3';
import { PlatterError } from '../../errors.js';
import { encodeTimestamp } from '../../encoding/timestamp.js';
import { cellsFromRows, type GroupLayout, type OnlineReader, type ReadBatch, type ReadCells } from '../types.js';
import { parseSqliteTimestamp, quoteId, sqliteTableName } from './layout.js';

interface PreparedView {
  table: string;
  /** feature name -> cell slot */
  slotOf: Map<string, number>;
  tsSlot: number;
}

/** Reads Feast's SQLite online store (the embedded default). Synchronous driver, tiny queries. */
export class SqliteOnlineReader implements OnlineReader {
  readonly kind = 'sqlite';
  readonly keySuffix = new Uint8Array(0);
  readonly #db: Database.Database;
  readonly #project: string;
  readonly #stmts = new Map<string, Database.Statement>();

  constructor(path: string, project: string) {
    try {
      this.#db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new PlatterError(
        'ONLINE_STORE_UNAVAILABLE',
        `cannot open the SQLite online store at ${path}: ${(err as Error).message}; materialize into it first or fix online_store.path`,
        { cause: err },
      );
    }
    this.#db.defaultSafeIntegers(false);
    this.#project = project;
  }

  prepare(layout: GroupLayout): PreparedView[] {
    return layout.views.map((v) => ({
      table: sqliteTableName(this.#project, v.view.name),
      slotOf: new Map(v.features.map((f, i) => [f, v.featureSlots[i]!])),
      tsSlot: v.tsSlot,
    }));
  }

  async read(batches: readonly ReadBatch[]): Promise<ReadCells> {
    const rows = batches.map((b) => {
      const rows: (Buffer | null)[][] = b.keys.map(() => new Array<Buffer | null>(b.layout.width).fill(null));
      const index = new Map<string, number>();
      b.keys.forEach((k, i) => index.set(k.toString('latin1'), i));
      for (const pv of b.prepared as PreparedView[]) {
        const stmt = this.#statement(pv.table, b.keys.length);
        if (stmt === null) continue; // table absent: nothing materialized for the view yet
        for (const r of stmt.all(...b.keys) as { entity_key: Buffer; feature_name: string; value: Buffer; event_ts: unknown }[]) {
          const i = index.get(r.entity_key.toString('latin1'));
          if (i === undefined) continue;
          const row = rows[i]!;
          const slot = pv.slotOf.get(r.feature_name);
          if (slot !== undefined) row[slot] = r.value ?? Buffer.alloc(0);
          if (row[pv.tsSlot] === null) {
            const ts = parseSqliteTimestamp(r.event_ts);
            if (ts) row[pv.tsSlot] = encodeTimestamp(ts.seconds, ts.nanos);
          }
        }
      }
      return rows;
    });
    return cellsFromRows(batches, rows);
  }

  #statement(table: string, n: number): Database.Statement | null {
    const id = `${table}\u0000${n}`;
    let s = this.#stmts.get(id);
    if (s === undefined) {
      try {
        s = this.#db.prepare(
          `SELECT entity_key, feature_name, value, event_ts FROM ${quoteId(table)} WHERE entity_key IN (${new Array(n).fill('?').join(',')})`,
        );
      } catch (err) {
        // Not materialized yet. Not cached: the table may appear at the next materialization.
        if (/no such table/.test((err as Error).message)) return null;
        throw err;
      }
      if (this.#stmts.size > 256) this.#stmts.clear();
      this.#stmts.set(id, s);
    }
    return s;
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
