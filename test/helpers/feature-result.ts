/** OnlineFeaturesResult values built by hand, for tests of the response writers. */
import { ValueType } from '../../src/encoding/value-type.js';
import type { OnlineFeaturesResult } from '../../src/serving/types.js';

export interface HandColumn {
  /** Serialized feast.types.Value per row; null for none. */
  readonly values: readonly (Buffer | null)[];
  readonly statuses: readonly number[];
  readonly ts: readonly (readonly [number, number])[];
}

/** Feature columns `f0..` after one INT64 entity column `id` (rows 0..n-1), in the flat cell layout. */
export function handResult(columns: readonly HandColumn[], n: number, firstId = 0): OnlineFeaturesResult {
  const parts: Buffer[] = [];
  let pos = 0;
  const total = columns.length * n;
  const valueStart = new Int32Array(total);
  const valueLength = new Int32Array(total);
  const statuses = new Uint8Array(total);
  const tsSeconds = new Float64Array(total);
  const tsNanos = new Uint32Array(total);
  columns.forEach((c, f) => {
    for (let r = 0; r < n; r++) {
      const i = f * n + r;
      const v = c.values[r] ?? null;
      valueStart[i] = pos;
      valueLength[i] = v === null ? -1 : v.length;
      if (v !== null) {
        parts.push(v);
        pos += v.length;
      }
      statuses[i] = c.statuses[r]!;
      tsSeconds[i] = c.ts[r]![0];
      tsNanos[i] = c.ts[r]![1];
    }
  });
  const features = columns.map((_, f) => `f${f}`);
  return {
    featureNames: ['id', ...features],
    rowCount: n,
    entityColumns: [{ name: 'id', valueType: ValueType.INT64, values: Array.from({ length: n }, (_, r) => ({ type: 4, value: firstId + r })) }],
    features,
    cells: { data: Buffer.concat(parts), valueStart, valueLength, statuses, tsSeconds, tsNanos },
  };
}
