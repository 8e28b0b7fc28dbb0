/**
 * Turns source records (one object per row: join keys, event timestamp, feature values) into
 * online write rows for a view: entity key bytes and serialized Values. Materialization, push
 * and the bundled example all write through this, so there is one conversion for every writer.
 */
import { PlatterError } from '../errors.js';
import { createEntityKeyEncoder, type EntityKeyVersion } from '../encoding/entity-key.js';
import { encodeValue } from '../encoding/value-encode.js';
import { parseIsoTimestamp } from '../encoding/timestamp.js';
import { DUMMY_ENTITY_ID, type FeatureViewDef } from '../registry/model.js';
import { toEntityScalar } from '../serving/entity-values.js';
import type { OnlineWriteRow } from '../online/redis/writer.js';

export type SourceRecord = Readonly<Record<string, unknown>>;

/** Event time of a record field: a Date, epoch seconds, or an ISO-8601 string (naive = UTC, as Feast). */
export function toEventTs(v: unknown, field: string): { seconds: number; nanos: number } {
  if (v instanceof Date) return { seconds: Math.floor(v.getTime() / 1000), nanos: (v.getTime() % 1000) * 1e6 };
  if (typeof v === 'number') return { seconds: Math.floor(v), nanos: Math.round((v % 1) * 1e9) };
  if (typeof v === 'string') {
    const parsed = parseIsoTimestamp(v);
    if (parsed) return parsed;
  }
  throw new PlatterError('INVALID_ARGUMENT', `'${field}' value ${JSON.stringify(v)} is not a timestamp`);
}

export function toOnlineRows(
  view: FeatureViewDef,
  records: readonly SourceRecord[],
  opts: { version: EntityKeyVersion; timestampField: string },
): OnlineWriteRow[] {
  const encoder = createEntityKeyEncoder(view.joinKeys.map((j) => j.name), opts.version);
  return records.map((rec, i) => {
    const scalars = view.joinKeys.map((jk) =>
      jk.name === DUMMY_ENTITY_ID ? { type: 2 as const, value: '' } : toEntityScalar(jk.name, i, jk.valueType, rec[jk.name]),
    );
    const values = new Map<string, Buffer>();
    for (const f of view.features) {
      if (!(f.name in rec)) continue; // only features present in the row are written (Feast redis.py)
      try {
        values.set(f.name, encodeValue(f.valueType, rec[f.name]));
      } catch (err) {
        throw new PlatterError(
          'INVALID_ARGUMENT',
          `row ${i}: feature '${view.name}:${f.name}': ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    return { entityKey: encoder.encode(scalars), values, eventTs: toEventTs(rec[opts.timestampField], opts.timestampField) };
  });
}
