/**
 * Feast's SQLite online-store layout (sdk/python/feast/infra/online_stores/sqlite.py): one table
 * per view named `<project>_<view>` (compute_table_id), keyed by (entity_key, feature_name), where
 * entity_key is the serialized key WITHOUT the project, feature_name the plain name, value the
 * serialized Value and event_ts the event time (current Feast writes integer epoch seconds;
 * older releases wrote ISO-8601 text).
 */
import { parseIsoTimestamp } from '../../encoding/timestamp.js';

export function sqliteTableName(project: string, viewName: string): string {
  return `${project}_${viewName}`;
}

export function quoteId(id: string): string {
  return `"${id.replace(/"/g, '""')}"`;
}

/** event_ts as stored by any Feast release -> seconds + nanos (naive text is UTC, as Feast treats it). */
export function parseSqliteTimestamp(v: unknown): { seconds: number; nanos: number } | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'bigint') return { seconds: Number(v), nanos: 0 };
  if (typeof v !== 'string') return null;
  const parsed = parseIsoTimestamp(v);
  if (parsed) return parsed;
  const n = Number(v);
  return Number.isFinite(n) ? { seconds: Math.trunc(n), nanos: 0 } : null;
}
