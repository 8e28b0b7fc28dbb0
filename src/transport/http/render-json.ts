/**
 * Feast Python's response JSON (feature_server_utils.py `convert_response_to_dict`, served by
 * Starlette's compact JSONResponse): columnar `results` with values, statuses and
 * event_timestamps, then `metadata.feature_names`. Written as one string from raw Value bytes.
 */
import type { EntityScalar } from '../../encoding/entity-key.js';
import { formatRfc3339 } from '../../encoding/timestamp.js';
import { valueToJson } from '../../encoding/value-json.js';
import { FIELD_STATUS_NAMES, type OnlineFeaturesResult } from '../../serving/types.js';

const EPOCH = '"1970-01-01T00:00:00Z"';
const STATUS_JSON = FIELD_STATUS_NAMES.map((s) => `"${s}"`);

function entityJson(v: EntityScalar): string {
  switch (v.type) {
    case 2:
      return JSON.stringify(v.value);
    case 1:
      return `"${Buffer.from(v.value).toString('base64')}"`;
    default:
      return String(v.value);
  }
}

export function renderOnlineFeaturesJson(result: OnlineFeaturesResult): string {
  const n = result.rowCount;
  let out = '{"results":[';
  let first = true;
  const presentRow = Array(n).fill(STATUS_JSON[1]).join(',');
  const epochRow = Array(n).fill(EPOCH).join(',');
  for (const col of result.entityColumns) {
    out += first ? '{"values":[' : ',{"values":[';
    first = false;
    for (let r = 0; r < n; r++) out += (r ? ',' : '') + entityJson(col.values[r]!);
    out += `],"statuses":[${presentRow}],"event_timestamps":[${epochRow}]}`;
  }
  let lastS = -1;
  let lastN = -1;
  let lastTs = EPOCH;
  for (const col of result.featureColumns) {
    out += first ? '{"values":[' : ',{"values":[';
    first = false;
    for (let r = 0; r < n; r++) {
      const v = col.values[r];
      out += (r ? ',' : '') + (v ? valueToJson(v, 0, v.length) : 'null');
    }
    out += '],"statuses":[';
    for (let r = 0; r < n; r++) out += (r ? ',' : '') + STATUS_JSON[col.statuses[r]!];
    out += '],"event_timestamps":[';
    for (let r = 0; r < n; r++) {
      const s = col.tsSeconds[r]!;
      const ns = col.tsNanos[r]!;
      // Rows of one view usually share a timestamp; reuse the last formatted one.
      if (s !== lastS || ns !== lastN) {
        lastS = s;
        lastN = ns;
        lastTs = `"${formatRfc3339(s, ns)}"`;
      }
      out += (r ? ',' : '') + lastTs;
    }
    out += ']}';
  }
  out += '],"metadata":{"feature_names":[';
  out += result.featureNames.map((f) => JSON.stringify(f)).join(',');
  return `${out}]}}`;
}
