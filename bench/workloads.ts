/**
 * The bench's feature repo and its named workloads.
 *
 * Repo: entity `driver` (join key `driver_id`, INT64), two feature views of 10 features each
 * (mostly INT64, the shape of Feast's own serving benchmark, plus one DOUBLE, FLOAT and STRING per
 * view so every decode path runs), a feature service over both. Every stored value is a pure
 * function of (view, feature, entity id) — `expectedValue` — so a response can be checked against
 * what was seeded without asking Redis or the server.
 *
 * A workload is one request shape; its pool holds `BENCH_POOL` request bodies with entity ids
 * drawn uniformly (with repeats, as real clients send) from the seeded range, and the load
 * rotates through the pool.
 */
import type { RepoDefinition } from '../src/registry/definition.js';
import type { ValueTypeName } from '../src/encoding/value-type.js';

export const ENTITY = { name: 'driver', joinKey: 'driver_id', valueType: 'INT64' } as const;

export interface FeatureSpec {
  readonly view: string;
  readonly name: string;
  readonly valueType: Extract<ValueTypeName, 'INT64' | 'DOUBLE' | 'FLOAT' | 'STRING'>;
  /** Position inside its view; part of the value formula. */
  readonly index: number;
}

const VIEW_TYPES: Record<string, FeatureSpec['valueType'][]> = {
  stats_a: ['INT64', 'DOUBLE', 'INT64', 'FLOAT', 'INT64', 'STRING', 'INT64', 'INT64', 'INT64', 'INT64'],
  stats_b: ['INT64', 'INT64', 'DOUBLE', 'INT64', 'FLOAT', 'INT64', 'INT64', 'STRING', 'INT64', 'INT64'],
};

/** Feature names are unique across views (a0..a9, b0..b9), so short output names never collide. */
export const VIEWS: Readonly<Record<string, readonly FeatureSpec[]>> = Object.fromEntries(
  Object.entries(VIEW_TYPES).map(([view, types]) => [
    view,
    types.map((valueType, index): FeatureSpec => ({ view, name: `${view.slice(-1)}${index}`, valueType, index })),
  ]),
);

export const FEATURE_SERVICE = 'bench_all';
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
    featureServices: [{ name: FEATURE_SERVICE, projections: Object.keys(VIEWS).map((view) => ({ view })) }],
  };
}

/** The value seeded for a feature of an entity (what the writer is given). */
export function seedValue(f: FeatureSpec, id: number): number | string {
  const k = f.index;
  switch (f.valueType) {
    case 'INT64':
      return id * 1000 + k + (f.view === 'stats_b' ? 500 : 0);
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
  /** Share of entity ids drawn from outside the seeded range (NOT_FOUND). */
  readonly missRate: number;
  /** Part of a plain `npm run bench`. */
  readonly byDefault: boolean;
}

const A = VIEWS.stats_a!;
const B = VIEWS.stats_b!;

export const WORKLOADS: readonly Workload[] = [
  {
    name: '1x10',
    description: '1 entity x 10 features of one view (features list)',
    entitiesPerRequest: 1,
    features: A,
    featureService: null,
    missRate: 0,
    byDefault: true,
  },
  {
    name: '100x10',
    description: '100 entities x 10 features over 2 views (5 + 5, features list)',
    entitiesPerRequest: 100,
    features: [...A.slice(0, 5), ...B.slice(0, 5)],
    featureService: null,
    missRate: 0,
    byDefault: true,
  },
  {
    name: 'miss',
    description: '100x10 with half of the entity ids never seeded (NOT_FOUND)',
    entitiesPerRequest: 100,
    features: [...A.slice(0, 5), ...B.slice(0, 5)],
    featureService: null,
    missRate: 0.5,
    byDefault: true,
  },
  {
    name: '1x20',
    description: '1 entity x 20 features over 2 views (features list)',
    entitiesPerRequest: 1,
    features: [...A, ...B],
    featureService: null,
    missRate: 0,
    byDefault: false,
  },
  {
    name: '1x20-fs',
    description: `1 entity x 20 features over 2 views through feature service '${FEATURE_SERVICE}'`,
    entitiesPerRequest: 1,
    features: [...A, ...B],
    featureService: FEATURE_SERVICE,
    missRate: 0,
    byDefault: false,
  },
  {
    name: '100x20',
    description: '100 entities x 20 features over 2 views (features list)',
    entitiesPerRequest: 100,
    features: [...A, ...B],
    featureService: null,
    missRate: 0,
    byDefault: false,
  },
];

export function selectWorkloads(names: readonly string[]): Workload[] {
  if (names.length === 0) return WORKLOADS.filter((w) => w.byDefault);
  if (names.includes('all')) return [...WORKLOADS];
  return names.map((n) => {
    const w = WORKLOADS.find((x) => x.name === n);
    if (!w) throw new Error(`unknown workload '${n}'; known: ${WORKLOADS.map((x) => x.name).join(', ')}, all`);
    return w;
  });
}

/** `features` list of a request ("view:feature"), or null when the workload uses the feature service. */
export function featureRefs(w: Workload): string[] | null {
  return w.featureService !== null ? null : w.features.map((f) => `${f.view}:${f.name}`);
}

/** mulberry32: a small seeded PRNG so every run sends the same pool. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Entity ids per request: seeded ids are 1..entities; misses come from entities+1..2*entities. */
export function requestPool(w: Workload, size: number, entities: number, seed: number): number[][] {
  const rnd = prng(seed ^ hash(w.name));
  const pool: number[][] = [];
  for (let i = 0; i < size; i++) {
    const ids: number[] = [];
    for (let e = 0; e < w.entitiesPerRequest; e++) {
      const miss = w.missRate > 0 && rnd() < w.missRate;
      ids.push(1 + Math.floor(rnd() * entities) + (miss ? entities : 0));
    }
    pool.push(ids);
  }
  return pool;
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
