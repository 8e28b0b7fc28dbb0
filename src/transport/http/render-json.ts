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

/**
 * Formatted timestamps, direct-mapped by seconds. A feature row's timestamp repeats on every
 * request for that entity (and materialization stamps many rows alike), so most lookups hit;
 * formatting one costs ~100 ns.
 */
const TS_SLOTS = 32768;
const tsKeyS = new Float64Array(TS_SLOTS).fill(-1);
const tsKeyN = new Uint32Array(TS_SLOTS);
const tsText: string[] = new Array<string>(TS_SLOTS).fill(EPOCH);

function timestampJson(s: number, ns: number): string {
  const slot = (s + ns) % TS_SLOTS;
  if (tsKeyS[slot] === s && tsKeyN[slot] === ns) return tsText[slot]!;
  const text = `"${formatRfc3339(s, ns)}"`;
  tsKeyS[slot] = s;
  tsKeyN[slot] = ns;
  tsText[slot] = text;
  return text;
}
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
  for (const col of result.featureColumns) {
    out += first ? '{"values":[' : ',{"values":[';
    first = false;
    const { data, valueStart, valueLength } = col;
    for (let r = 0; r < n; r++) {
      const len = valueLength[r]!;
      out += (r ? ',' : '') + (len < 0 ? 'null' : valueToJson(data, valueStart[r]!, valueStart[r]! + len));
    }
    out += '],"statuses":[';
    for (let r = 0; r < n; r++) out += (r ? ',' : '') + STATUS_JSON[col.statuses[r]!];
    out += '],"event_timestamps":[';
    const tsS = col.tsSeconds;
    const tsN = col.tsNanos;
    for (let r = 0; r < n; r++) out += (r ? ',' : '') + timestampJson(tsS[r]!, tsN[r]!);
    out += ']}';
  }
  out += '],"metadata":{"feature_names":[';
  out += result.featureNames.map((f) => JSON.stringify(f)).join(',');
  return `${out}]}}`;
}
