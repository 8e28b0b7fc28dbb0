/**
 * A small declarative repo definition and its Feast registry encoding: what `feast apply` would
 * write for entities, (stream) feature views and feature services. The bundled example and the
 * tests' fixture repos are built through it; the bytes are a `feast.core.Registry` any Feast
 * reader accepts (sdk/python/feast/infra/registry/file.py stores the bare message).
 */
import { protoType } from '../proto/root.js';
import { ValueType, type ValueTypeName } from '../encoding/value-type.js';

export interface EntityDefinition {
  readonly name: string;
  /** Defaults to the entity name, as in Feast. */
  readonly joinKey?: string;
  readonly valueType: ValueTypeName;
}

export interface FeatureViewDefinition {
  readonly name: string;
  /** Entity names; empty for an entity-less view. */
  readonly entities: readonly string[];
  readonly features: readonly { readonly name: string; readonly valueType: ValueTypeName }[];
  readonly ttlSeconds?: number;
  readonly online?: boolean;
  readonly kind?: 'feature_view' | 'stream_feature_view' | 'on_demand_feature_view';
  /** Leave out `entity_columns`, as registries written before Feast 0.21 do. */
  readonly omitEntityColumns?: boolean;
  /** File path of the batch source (informational for readers). */
  readonly batchSourcePath?: string;
  readonly pushSourceName?: string;
  readonly timestampField?: string;
}

export interface FeatureServiceDefinition {
  readonly name: string;
  readonly projections: readonly {
    readonly view: string;
    readonly alias?: string;
    readonly features?: readonly string[];
    readonly joinKeyMap?: Readonly<Record<string, string>>;
  }[];
}

export interface RepoDefinition {
  readonly project: string;
  readonly entities: readonly EntityDefinition[];
  readonly featureViews: readonly FeatureViewDefinition[];
  readonly featureServices?: readonly FeatureServiceDefinition[];
}

const DUMMY = { name: '__dummy', joinKey: '__dummy_id', valueType: 'STRING' as const };

export function registryObject(def: RepoDefinition, now = new Date()): Record<string, unknown> {
  const ts = { seconds: Math.floor(now.getTime() / 1000), nanos: (now.getTime() % 1000) * 1e6 };
  const entities = new Map(def.entities.map((e) => [e.name, e]));
  const project = def.project;
  const feature = (f: { name: string; valueType: ValueTypeName }) => ({ name: f.name, value_type: ValueType[f.valueType] });

  const viewSpec = (v: FeatureViewDefinition) => {
    const ents = v.entities.length > 0 ? v.entities.map((n) => entities.get(n) ?? missing(n, v.name)) : [DUMMY];
    const batch = {
      type: 1, // BATCH_FILE
      name: `${v.name}_source`,
      project,
      timestamp_field: v.timestampField ?? 'event_timestamp',
      file_options: { uri: v.batchSourcePath ?? `data/${v.name}.csv` },
      data_source_class_type: 'feast.infra.offline_stores.file_source.FileSource',
    };
    const stream = v.pushSourceName
      ? {
          type: 9, // PUSH_SOURCE
          name: v.pushSourceName,
          project,
          push_options: {},
          batch_source: batch,
          data_source_class_type: 'feast.data_source.PushSource',
        }
      : undefined;
    return {
      name: v.name,
      project,
      entities: ents.map((e) => e.name),
      features: v.features.map(feature),
      entity_columns: v.omitEntityColumns
        ? []
        : ents.map((e) => ({ name: e.joinKey ?? e.name, value_type: ValueType[e.valueType] })),
      ttl: { seconds: Math.floor(v.ttlSeconds ?? 0), nanos: 0 },
      online: v.online ?? true,
      batch_source: batch,
      ...(stream ? { stream_source: stream } : {}),
    };
  };

  const meta = { created_timestamp: ts, last_updated_timestamp: ts };
  const kind = (v: FeatureViewDefinition) => v.kind ?? 'feature_view';
  return {
    registry_schema_version: '1',
    last_updated: ts,
    projects: [{ spec: { name: project }, meta }],
    entities: [...def.entities, ...(def.featureViews.some((v) => v.entities.length === 0) ? [DUMMY] : [])].map((e) => ({
      spec: { name: e.name, join_key: e.joinKey ?? e.name, value_type: ValueType[e.valueType], project },
      meta,
    })),
    feature_views: def.featureViews.filter((v) => kind(v) === 'feature_view').map((v) => ({ spec: viewSpec(v), meta })),
    stream_feature_views: def.featureViews
      .filter((v) => kind(v) === 'stream_feature_view')
      .map((v) => {
        const { entity_columns, ...rest } = viewSpec(v);
        return { spec: { ...rest, entity_columns }, meta };
      }),
    on_demand_feature_views: def.featureViews
      .filter((v) => kind(v) === 'on_demand_feature_view')
      .map((v) => {
        const s = viewSpec(v);
        return {
          spec: {
            name: s.name,
            project,
            features: s.features,
            entities: s.entities,
            entity_columns: s.entity_columns,
            write_to_online_store: v.online ?? true,
            mode: 'python',
          },
          meta: { created_timestamp: ts, last_updated_timestamp: ts },
        };
      }),
    feature_services: (def.featureServices ?? []).map((s) => ({
      spec: {
        name: s.name,
        project,
        features: s.projections.map((p) => {
          const view = def.featureViews.find((v) => v.name === p.view) ?? missing(p.view, s.name);
          const cols = (p.features ?? view.features.map((f) => f.name)).map((n) => {
            const f = view.features.find((x) => x.name === n);
            if (!f) throw new Error(`feature service '${s.name}': view '${p.view}' has no feature '${n}'`);
            return feature(f);
          });
          return {
            feature_view_name: p.view,
            feature_view_name_alias: p.alias ?? '',
            feature_columns: cols,
            join_key_map: { ...(p.joinKeyMap ?? {}) },
          };
        }),
      },
      meta,
    })),
  };
}

function missing(name: string, where: string): never {
  throw new Error(`'${where}' refers to '${name}', which the definition does not declare`);
}

/** The serialized `feast.core.Registry` for a definition. */
export function encodeRegistry(def: RepoDefinition, now = new Date()): Buffer {
  const type = protoType('feast.core.Registry');
  const obj = registryObject(def, now);
  const err = type.verify(obj);
  if (err) throw new Error(`registry definition does not fit feast.core.Registry: ${err}`);
  return Buffer.from(type.encode(type.fromObject(obj)).finish());
}
