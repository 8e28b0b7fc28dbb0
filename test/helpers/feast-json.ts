/**
 * Builds the exact response text Feast's Python HTTP server writes for `/get-online-features`
 * (feast-compat.md §6.2: feature_server_utils.py `convert_response_to_dict`, served by Starlette's
 * compact JSONResponse), so tests compare whole bodies byte for byte. Values are given as JSON
 * text fragments (`'1.0'`, `'9223372036854775807'`), written by hand from Feast's rules; nothing
 * here calls the product's encoders.
 */
import assert from 'node:assert/strict';

export const EPOCH = '1970-01-01T00:00:00Z';

export interface Column {
  readonly values: readonly string[];
  readonly statuses: readonly string[];
  readonly ts: readonly string[];
}

const spread = <T>(v: T | readonly T[], n: number): readonly T[] => (Array.isArray(v) ? (v as readonly T[]) : Array<T>(n).fill(v as T));

/** A join-key column: the request's values (as JSON text), PRESENT, epoch 0. */
export function entityColumn(values: readonly string[]): Column {
  return { values, statuses: spread('PRESENT', values.length), ts: spread(EPOCH, values.length) };
}

/** A feature column; a single status or timestamp is repeated for every row. */
export function featureColumn(
  values: readonly string[],
  statuses: string | readonly string[],
  ts: string | readonly string[],
): Column {
  return { values, statuses: spread(statuses, values.length), ts: spread(ts, values.length) };
}

/** `{"results":[...],"metadata":{"feature_names":[...]}}` with Python's compact separators. */
export function responseText(names: readonly string[], columns: readonly Column[]): string {
  assert.equal(names.length, columns.length, 'test bug: names and columns differ in length');
  const cols = columns.map(
    (c) =>
      `{"values":[${c.values.join(',')}],"statuses":[${c.statuses.map((s) => `"${s}"`).join(',')}],` +
      `"event_timestamps":[${c.ts.map((t) => `"${t}"`).join(',')}]}`,
  );
  return `{"results":[${cols.join(',')}],"metadata":{"feature_names":[${names.map((n) => JSON.stringify(n)).join(',')}]}}`;
}

/** RFC 3339 of whole epoch seconds, no fraction (`2024-01-01T00:00:00Z`), independent of src/. */
export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** RFC 3339 with Feast's adaptive fraction (none, 3, 6 or 9 digits), from seconds + nanos. */
export function isoNanos(seconds: number, nanos: number): string {
  const base = isoSeconds(seconds).slice(0, -1);
  if (nanos === 0) return `${base}Z`;
  const digits = String(nanos).padStart(9, '0');
  if (nanos % 1_000_000 === 0) return `${base}.${digits.slice(0, 3)}Z`;
  if (nanos % 1000 === 0) return `${base}.${digits.slice(0, 6)}Z`;
  return `${base}.${digits}Z`;
}

/**
 * Python `repr(float)` for the values tests use (1e-4 <= |x| < 1e16, where Python and JS pick
 * the same shortest digits and only integral values differ: `1.0` vs `1`).
 */
export function pyRepr(x: number): string {
  const ax = Math.abs(x);
  assert.ok(ax === 0 || (ax >= 1e-4 && ax < 1e16), `pyRepr test helper only covers 1e-4 <= |x| < 1e16, got ${x}`);
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** A float32 value as Feast prints it: widened to double, then Python repr. */
export function pyFloat32(x: number): string {
  return pyRepr(Math.fround(x));
}

export interface ErrorDetail {
  module: string;
  class: string;
  message: string;
  code: string;
}

/**
 * The error body: a JSON string whose content is JSON `{module, class, message, code}`
 * (Feast's FeastError.to_error_detail, double-encoded by JSONResponse; plus Platter's `code`).
 */
export function errorDetail(res: { status: number; text: string; json: unknown }): ErrorDetail {
  assert.equal(typeof res.json, 'string', `error body must be a JSON string, got: ${res.text}`);
  const detail = JSON.parse(res.json as string) as Record<string, unknown>;
  assert.deepEqual(Object.keys(detail).sort(), ['class', 'code', 'message', 'module'], `error detail keys: ${res.json}`);
  for (const k of ['class', 'code', 'message', 'module']) assert.equal(typeof detail[k], 'string', `${k} is a string`);
  return detail as unknown as ErrorDetail;
}
