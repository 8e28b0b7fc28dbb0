/**
 * Correctness gate: before a workload is loaded, responses are compared with what seed.ts wrote,
 * computed from the seed formulas (workloads.ts), never from the server or Redis. A bench that
 * measures wrong answers measures nothing, so any difference aborts the run.
 */
import { ENTITY, eventSeconds, expectedValue, type Workload } from '../workloads.js';

/** A response in transport-neutral form. */
export interface NormalizedResponse {
  readonly featureNames: readonly string[];
  /** One column per name: values (numbers/strings/null), status names, event seconds. */
  readonly columns: readonly {
    readonly values: readonly (number | string | null)[];
    readonly statuses: readonly string[];
    readonly eventSeconds: readonly number[];
  }[];
}

export class CheckFailure extends Error {}

export function checkResponse(
  where: string,
  w: Workload,
  ids: readonly number[],
  res: NormalizedResponse,
  ctx: { entities: number; baseSeconds: number },
): void {
  const fail = (msg: string): never => {
    throw new CheckFailure(`${where}: workload ${w.name}, ids [${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''}]: ${msg}`);
  };
  const names = [ENTITY.joinKey, ...w.features.map((f) => f.name)];
  if (res.featureNames.join(',') !== names.join(',')) {
    fail(`feature_names are [${res.featureNames.join(', ')}], expected [${names.join(', ')}]`);
  }
  if (res.columns.length !== names.length) fail(`${res.columns.length} result columns, expected ${names.length}`);
  res.columns.forEach((col, c) => {
    const name = names[c]!;
    for (const [what, arr] of [
      ['values', col.values],
      ['statuses', col.statuses],
      ['event_timestamps', col.eventSeconds],
    ] as const) {
      if (arr.length !== ids.length) fail(`column '${name}' has ${arr.length} ${what}, expected ${ids.length} (one per entity row)`);
    }
  });
  const entityCol = res.columns[0]!;
  ids.forEach((id, r) => {
    if (entityCol.values[r] !== id) fail(`row ${r}: ${ENTITY.joinKey} is ${String(entityCol.values[r])}, expected ${id}`);
    if (entityCol.statuses[r] !== 'PRESENT') fail(`row ${r}: ${ENTITY.joinKey} status ${entityCol.statuses[r]}, expected PRESENT`);
  });
  w.features.forEach((f, i) => {
    const col = res.columns[i + 1]!;
    ids.forEach((id, r) => {
      const seeded = id >= 1 && id <= ctx.entities;
      const at = `row ${r} (id ${id}), feature '${f.view}:${f.name}' (${f.valueType})`;
      if (!seeded) {
        if (col.statuses[r] !== 'NOT_FOUND') fail(`${at}: status ${col.statuses[r]}, expected NOT_FOUND (id never seeded)`);
        if (col.values[r] !== null) fail(`${at}: value ${JSON.stringify(col.values[r])}, expected null (id never seeded)`);
        return;
      }
      if (col.statuses[r] !== 'PRESENT') fail(`${at}: status ${col.statuses[r]}, expected PRESENT`);
      const want = expectedValue(f, id);
      if (col.values[r] !== want) fail(`${at}: value ${JSON.stringify(col.values[r])}, expected ${JSON.stringify(want)}`);
      const ts = eventSeconds(ctx.baseSeconds, id);
      if (col.eventSeconds[r] !== ts) fail(`${at}: event time ${col.eventSeconds[r]}, expected ${ts} (${new Date(ts * 1000).toISOString()})`);
    });
  });
}

/** Feast's HTTP JSON response -> normalized. */
export function normalizeJson(doc: unknown): NormalizedResponse {
  const d = doc as {
    results?: { values?: unknown[]; statuses?: string[]; event_timestamps?: string[] }[];
    metadata?: { feature_names?: string[] };
  };
  if (!d || !Array.isArray(d.results) || !Array.isArray(d.metadata?.feature_names)) {
    throw new CheckFailure(`response is not Feast's shape {results: [...], metadata: {feature_names}}: ${JSON.stringify(doc).slice(0, 300)}`);
  }
  return {
    featureNames: d.metadata!.feature_names!,
    columns: d.results.map((r) => ({
      values: (r.values ?? []) as (number | string | null)[],
      statuses: r.statuses ?? [],
      eventSeconds: (r.event_timestamps ?? []).map((t) => Date.parse(t) / 1000),
    })),
  };
}
