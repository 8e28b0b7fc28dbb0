/**
 * An immutable, resolved view of one project of a Feast registry. Built off the request path
 * whenever the registry is (re)loaded; requests only do map lookups on it.
 */
import { PlatterError } from '../errors.js';
import { ValueType, type ValueTypeNumber } from '../encoding/value-type.js';
import {
  DUMMY_ENTITY_ID,
  DUMMY_ENTITY_NAME,
  type EntityDef,
  type FeatureDef,
  type FeatureServiceDef,
  type FeatureViewDef,
  type JoinKeyDef,
  type LoggingConfigDef,
  type ProjectionDef,
  type ViewKind,
} from './model.js';

/** The subset of a protobufjs-decoded `feast.core.Registry` (toObject, Feast field names) we read. */
type Obj = Record<string, any>;

let generation = 0;

export class RegistryIndex {
  readonly project: string;
  readonly entities: ReadonlyMap<string, EntityDef>;
  readonly views: ReadonlyMap<string, FeatureViewDef>;
  readonly services: ReadonlyMap<string, FeatureServiceDef>;
  /** Every project named in the registry, for error messages and `registry dump`. */
  readonly projects: readonly string[];
  /** Increases with every index built; plan caches are keyed to it. */
  readonly generation: number;
  readonly lastUpdated: Date | null;
  readonly loadedAt: Date;

  constructor(init: {
    project: string;
    entities: Map<string, EntityDef>;
    views: Map<string, FeatureViewDef>;
    services: Map<string, FeatureServiceDef>;
    projects: string[];
    lastUpdated: Date | null;
  }) {
    this.project = init.project;
    this.entities = init.entities;
    this.views = init.views;
    this.services = init.services;
    this.projects = init.projects;
    this.lastUpdated = init.lastUpdated;
    this.generation = ++generation;
    this.loadedAt = new Date();
  }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

function durationSeconds(d: Obj | null | undefined): number {
  if (!d) return 0;
  return Number(d.seconds ?? 0) + Number(d.nanos ?? 0) / 1e9;
}

function timestampDate(t: Obj | null | undefined): Date | null {
  if (!t) return null;
  const ms = Number(t.seconds ?? 0) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1e6);
  return ms > 0 ? new Date(ms) : null;
}

function featureDefs(specs: unknown): FeatureDef[] {
  return arr(specs).map((f) => ({ name: str(f.name), valueType: Number(f.value_type ?? 0) as ValueTypeNumber }));
}

function projectOf(spec: Obj): string {
  return str(spec.project);
}

/**
 * Build the index for `project` from a decoded Registry. A registry holds every project; objects
 * of other projects are skipped (as Feast's Python registry filters by `spec.project`). Objects
 * with an empty project (some older writers) are kept.
 */
export function buildRegistryIndex(registry: Obj, project: string): RegistryIndex {
  const inProject = (p: string) => p === project || p === '';
  const projects = new Set<string>();

  const entities = new Map<string, EntityDef>();
  for (const e of arr(registry.entities)) {
    const spec: Obj = e.spec ?? {};
    projects.add(projectOf(spec));
    if (!inProject(projectOf(spec))) continue;
    const name = str(spec.name);
    entities.set(name, {
      name,
      joinKey: str(spec.join_key) || name,
      valueType: Number(spec.value_type ?? 0) as ValueTypeNumber,
    });
  }

  const views = new Map<string, FeatureViewDef>();
  const addView = (kind: ViewKind, spec: Obj, meta: Obj | undefined) => {
    projects.add(projectOf(spec));
    if (!inProject(projectOf(spec))) return;
    const def = toViewDef(kind, spec, meta, entities);
    views.set(def.name, def);
  };
  for (const v of arr(registry.feature_views)) addView('feature_view', v.spec ?? {}, v.meta);
  for (const v of arr(registry.stream_feature_views)) addView('stream_feature_view', v.spec ?? {}, v.meta);
  for (const v of arr(registry.on_demand_feature_views)) addView('on_demand_feature_view', v.spec ?? {}, v.meta);

  const services = new Map<string, FeatureServiceDef>();
  for (const s of arr(registry.feature_services)) {
    const spec: Obj = s.spec ?? {};
    projects.add(projectOf(spec));
    if (!inProject(projectOf(spec))) continue;
    services.set(str(spec.name), toServiceDef(spec, views));
  }
  for (const p of arr(registry.projects)) projects.add(str(p.spec?.name));
  // Registries written before the `projects` list name projects in the deprecated project_metadata.
  for (const p of arr(registry.project_metadata)) projects.add(str(p.project));
  projects.delete('');

  return new RegistryIndex({
    project,
    entities,
    views,
    services,
    projects: [...projects].sort(),
    lastUpdated: timestampDate(registry.last_updated),
  });
}

function toViewDef(kind: ViewKind, spec: Obj, meta: Obj | undefined, entities: Map<string, EntityDef>): FeatureViewDef {
  const name = str(spec.name);
  const entityNames = arr(spec.entities).map(String);
  const features = featureDefs(spec.features);
  const featureByName = new Map(features.map((f) => [f.name, f]));
  const joinKeys = resolveJoinKeys(name, entityNames, featureDefs(spec.entity_columns), entities);
  // An on-demand view has no `online` flag: it is readable when it was written at write time.
  const writeToOnlineStore = kind === 'on_demand_feature_view' ? Boolean(spec.write_to_online_store) : true;
  const online = kind === 'on_demand_feature_view' ? writeToOnlineStore : Boolean(spec.online);
  const streamSource: Obj | undefined = spec.stream_source ?? undefined;
  return {
    name,
    kind,
    project: str(spec.project),
    entityNames,
    joinKeys,
    features,
    featureByName,
    ttlSeconds: durationSeconds(spec.ttl),
    online,
    disabled: Boolean(spec.disabled),
    state: Number(meta?.state ?? 0),
    writeToOnlineStore,
    streamSourceName: streamSource && str(streamSource.name) ? str(streamSource.name) : null,
  };
}

/**
 * Join keys, in the view's entity order. `entity_columns` carries the authoritative types; older
 * registries (Feast < 0.21, e.g. the 2022 Go test repo) lack it, so the Entity decides.
 */
function resolveJoinKeys(
  viewName: string,
  entityNames: string[],
  entityColumns: FeatureDef[],
  entities: Map<string, EntityDef>,
): JoinKeyDef[] {
  if (entityNames.length === 1 && entityNames[0] === DUMMY_ENTITY_NAME) {
    return [{ name: DUMMY_ENTITY_ID, valueType: ValueType.STRING }];
  }
  if (entityColumns.length > 0) {
    return entityColumns.map((c) => ({ name: c.name, valueType: c.valueType }));
  }
  return entityNames.map((en) => {
    const e = entities.get(en);
    if (!e) {
      throw new PlatterError(
        'REGISTRY_INVALID',
        `feature view '${viewName}' names entity '${en}', which is not in the registry; run \`feast apply\` again`,
      );
    }
    return { name: e.joinKey, valueType: e.valueType };
  });
}

function toServiceDef(spec: Obj, views: Map<string, FeatureViewDef>): FeatureServiceDef {
  const name = str(spec.name);
  const projections: ProjectionDef[] = arr(spec.features).map((p) => {
    const viewName = str(p.feature_view_name);
    const view = views.get(viewName);
    if (!view) {
      throw new PlatterError(
        'REGISTRY_INVALID',
        `feature service '${name}' uses feature view '${viewName}', which is not in the registry`,
      );
    }
    const cols = arr(p.feature_columns).map((c) => str(c.name));
    for (const c of cols) {
      if (!view.featureByName.has(c)) {
        throw new PlatterError(
          'REGISTRY_INVALID',
          `feature service '${name}' selects '${viewName}:${c}', which the view does not define`,
        );
      }
    }
    const jkm = new Map<string, string>();
    const rawMap: Obj = p.join_key_map ?? {};
    for (const k of Object.keys(rawMap)) jkm.set(k, String(rawMap[k]));
    return {
      viewName,
      nameToUse: str(p.feature_view_name_alias) || viewName,
      features: cols.length > 0 ? cols : view.features.map((f) => f.name),
      joinKeyMap: jkm,
    };
  });
  return { name, projections, logging: loggingConfig(spec.logging_config) };
}

function loggingConfig(lc: Obj | null | undefined): LoggingConfigDef | null {
  if (!lc) return null;
  const destinations = [
    'file_destination',
    'bigquery_destination',
    'redshift_destination',
    'snowflake_destination',
    'custom_destination',
    'athena_destination',
    'couchbase_columnar_destination',
  ];
  const destination = destinations.find((d) => lc[d] != null) ?? null;
  return { sampleRate: Number(lc.sample_rate ?? 0), destination };
}
