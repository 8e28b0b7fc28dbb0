/**
 * The bench's feature repo and its named workloads: the shape of Feast's own serving benchmark
 * (feast-dev/feast-benchmarks), regenerated here. Only the shape is copied; the data comes from
 * formulas so every response can be checked.
 *
 * Repo: entity `driver` (join key `driver_id`, INT64); 25 feature views `feature_view_<v>` of 10
 * INT64 features each (`feature_<10v+j>`, 250 in all); feature services `fs50` .. `fs250` over the
 * first 5, 10, 15, 20, 25 views (the first N features). Every stored value is a pure function of
 * (feature, entity id) — `expectedValue` — so a response is checked without asking Redis or the
 * server.
 *
 * A workload is one request shape; its pool holds `BENCH_POOL` request bodies whose entity ids are
 * drawn uniformly, with repeats, from 1..round(idSpan x entities): with the default span of 1.2,
 * one id in six was never seeded and comes back NOT_FOUND, as in Feast's benchmark, where ids are
 * drawn from a key space the data does not cover completely.
 */
import type { RepoDefinition } from '../src/registry/definition.js';
import type { ValueTypeName } from '../src/encoding/value-type.js';
import { mulberry32 } from '../test/helpers/prng.js';

export const ENTITY = { name: 'driver', joinKey: 'driver_id', valueType: 'INT64' } as const;

export interface FeatureSpec {
  readonly view: string;
  readonly name: string;
  readonly valueType: Extract<ValueTypeName, 'INT64' | 'DOUBLE' | 'FLOAT' | 'STRING'>;
  /** Global feature number (feature_<index>); part of the value formula. */
  readonly index: number;
}

export const VIEW_COUNT = 25;
export const FEATURES_PER_VIEW = 10;

/** feature_view_0 .. feature_view_24, each with 10 INT64 features. */
export const VIEWS: Readonly<Record<string, readonly FeatureSpec[]>> = Object.fromEntries(
  Array.from({ length: VIEW_COUNT }, (_, v) => {
    const view = `feature_view_${v}`;
    const features = Array.from(
      { length: FEATURES_PER_VIEW },
      (_, j): FeatureSpec => ({ view, name: `feature_${v * FEATURES_PER_VIEW + j}`, valueType: 'INT64', index: v * FEATURES_PER_VIEW + j }),
    );
    return [view, features];
  }),
);

/** Every feature in view order (feature_0 .. feature_249). */
export const ALL_FEATURES: readonly FeatureSpec[] = Object.values(VIEWS).flat();

/** fs50 .. fs250: the first N features (N/10 whole views), like Feast's feature_service_0..4. */
export const FEATURE_SERVICES: Readonly<Record<string, readonly FeatureSpec[]>> = Object.fromEntries(
  [50, 100, 150, 200, 250].map((n) => [`fs${n}`, ALL_FEATURES.slice(0, n)]),
);

/** Hash fields per entity key once every view is written: one per feature plus `_ts:<view>` per view. */
export const FIELDS_PER_HASH = ALL_FEATURES.length + VIEW_COUNT;

/** View TTL: long enough that every seeded row is fresh, non-zero so the TTL check runs. */
export const TTL_SECONDS = 86_400;

export function repoDefinition(project: string): RepoDefinition {
  return {
    project,
    entities: [ENTITY],
    featureViews: Object.entries(VIEWS).map(([name, features]) => ({
      name,
      entities: [ENTITY.name],
      features: features.map((f) => ({ name: f.name, valueType: f.valueType })),
      ttlSeconds: TTL_SECONDS,
    })),
    featureServices: Object.entries(FEATURE_SERVICES).map(([name, features]) => ({
      name,
      projections: [...new Set(features.map((f) => f.view))].map((view) => ({ view })),
    })),
  };
}

/** The value seeded for a feature of an entity (what the writer is given). */
export function seedValue(f: FeatureSpec, id: number): number | string {
  const k = f.index;
  switch (f.valueType) {
    case 'INT64':
      // Up to 8 digits: varints of 3-4 bytes, JSON numbers of 4-8 characters.
      return id * 1000 + k;
    case 'DOUBLE':
      return id / 7 + k;
    case 'FLOAT':
      return (id + k) / 3;
    case 'STRING':
      return `${f.view}-${id}-${k}`;
  }
}

/** The value a client must read back: FLOAT is stored as float32, so it comes back rounded. */
export function expectedValue(f: FeatureSpec, id: number): number | string {
  const v = seedValue(f, id);
  return f.valueType === 'FLOAT' ? Math.fround(v as number) : v;
}

/** Event time of an entity's row (whole seconds; nanos 0), relative to the seeding time. */
export function eventSeconds(base: number, id: number): number {
  return base - (id % 3600);
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  readonly entitiesPerRequest: number;
  /** Output features in response order. */
  readonly features: readonly FeatureSpec[];
  /** Requested by feature service instead of a `features` list. */
  readonly featureService: string | null;
  /** Entity ids are drawn uniformly from 1..round(idSpan x entities); ids above `entities` miss. */
  readonly idSpan: number;
  /** Part of a plain `npm run bench`. */
  readonly byDefault: boolean;
}

/** Default id span: 1..12,000 for 10,000 seeded entities, so about one id in six misses. */
export const ID_SPAN = 1.2;

const V0 = VIEWS.feature_view_0!;
const fsWorkload = (rows: number, n: number, byDefault: boolean, extra: Partial<Workload> = {}): Workload => ({
  name: `${rows}x${n}`,
  description: `${rows} entit${rows === 1 ? 'y' : 'ies'} x ${n} features through feature service fs${n} (${n / FEATURES_PER_VIEW} views)`,
  entitiesPerRequest: rows,
  features: FEATURE_SERVICES[`fs${n}`]!,
  featureService: `fs${n}`,
  idSpan: ID_SPAN,
  byDefault,
  ...extra,
});

export const WORKLOADS: readonly Workload[] = [
  {
    name: '1x10',
    description: '1 entity x 10 features of one view (features list)',
    entitiesPerRequest: 1,
    features: V0,
    featureService: null,
    idSpan: ID_SPAN,
    byDefault: true,
  },
  fsWorkload(1, 50, true),
  fsWorkload(1, 100, false),
  fsWorkload(1, 150, false),
  fsWorkload(1, 200, false),
  fsWorkload(1, 250, true),
  fsWorkload(10, 50, true),
  fsWorkload(100, 50, true),
  fsWorkload(100, 100, false),
  fsWorkload(100, 150, false),
  fsWorkload(100, 200, false),
  fsWorkload(100, 250, true),
  fsWorkload(100, 50, true, {
    name: 'miss',
    description: '100x50 (fs50) with ids drawn from 1..10x the seeded range: ~90% of rows NOT_FOUND',
    idSpan: 10,
  }),
  {
    name: '100x10',
    description: '100 entities x 10 features of one view (features list)',
    entitiesPerRequest: 100,
    features: V0,
    featureService: null,
    idSpan: ID_SPAN,
    byDefault: false,
  },
];

export function selectWorkloads(names: readonly string[]): Workload[] {
  if (names.length === 0) return WORKLOADS.filter((w) => w.byDefault);
  if (names.includes('all')) return [...WORKLOADS];
  return names.map(workloadByName);
}

export function workloadByName(n: string): Workload {
  const w = WORKLOADS.find((x) => x.name === n);
  if (!w) throw new Error(`unknown workload '${n}'; known: ${WORKLOADS.map((x) => x.name).join(', ')}, all`);
  return w;
}

/** `features` list of a request ("view:feature"), or null when the workload uses the feature service. */
export function featureRefs(w: Workload): string[] | null {
  return w.featureService !== null ? null : w.features.map((f) => `${f.view}:${f.name}`);
}

/** Entity ids per request, uniform over 1..round(idSpan x entities) (ids above `entities` were never seeded). */
export function requestPool(w: Workload, size: number, entities: number, seed: number): number[][] {
  const rnd = mulberry32(seed ^ hash(w.name));
  const span = Math.max(1, Math.round(w.idSpan * entities));
  const pool: number[][] = [];
  for (let i = 0; i < size; i++) {
    const ids: number[] = [];
    for (let e = 0; e < w.entitiesPerRequest; e++) ids.push(1 + Math.floor(rnd() * span));
    pool.push(ids);
  }
  return pool;
}

/** Share of the pool's entity rows that were never seeded (NOT_FOUND). */
export function poolMissShare(pool: readonly (readonly number[])[], entities: number): number {
  let rows = 0;
  let miss = 0;
  for (const ids of pool) {
    rows += ids.length;
    for (const id of ids) if (id > entities) miss++;
  }
  return rows === 0 ? 0 : miss / rows;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Feast's `POST /get-online-features` body for a set of entity ids. */
export function httpBody(w: Workload, ids: readonly number[]): string {
  const refs = featureRefs(w);
  return JSON.stringify({
    ...(refs ? { features: refs } : { feature_service: w.featureService }),
    entities: { [ENTITY.joinKey]: ids },
    full_feature_names: false,
  });
}

/** A check request for a workload: its own shape, with seeded ids and (always) one never-seeded id. */
export function checkIds(w: Workload, entities: number): number[] {
  const n = Math.max(w.entitiesPerRequest, 2);
  const ids: number[] = [];
  for (let i = 0; i < n - 1; i++) ids.push(1 + ((i * 7919) % entities));
  ids.push(entities + 1);
  return ids;
}
