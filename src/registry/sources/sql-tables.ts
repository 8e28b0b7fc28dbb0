/**
 * Feast's SQL registry tables, as sdk/python/feast/infra/registry/sql.py declares them
 * (feast-compat.md §4.11). Tables are unqualified: they live in the connection's search_path.
 * Every object table has `project_id` (the project name), a name column, BigInteger epoch-second
 * `last_updated_timestamp`, and the serialized proto in a bytea column.
 */

export interface ObjectTable {
  readonly table: string;
  /** Primary key column besides `project_id`: the object's name. */
  readonly idColumn: string;
  /** The bytea column holding the serialized proto. */
  readonly protoColumn: string;
  /** Fully qualified proto message type of `protoColumn`. */
  readonly type: string;
  /** The repeated field of feast.core.Registry the objects go in. */
  readonly field: string;
  /** Where Feast's `proto()` stamps the project: `spec.project`, or top-level `project` (DataSource). */
  readonly stamp: 'spec' | 'top';
}

/**
 * The object tables `SqlRegistry.proto()` lists per project, less the ones nothing in Platter reads
 * (saved_datasets, validation_references, permissions; managed_infra): a corrupt row there cannot
 * take serving down, and their changes do not cost a reload.
 */
export const OBJECT_TABLES: readonly ObjectTable[] = [
  { table: 'entities', idColumn: 'entity_name', protoColumn: 'entity_proto', type: 'feast.core.Entity', field: 'entities', stamp: 'spec' },
  { table: 'feature_views', idColumn: 'feature_view_name', protoColumn: 'feature_view_proto', type: 'feast.core.FeatureView', field: 'feature_views', stamp: 'spec' },
  { table: 'data_sources', idColumn: 'data_source_name', protoColumn: 'data_source_proto', type: 'feast.core.DataSource', field: 'data_sources', stamp: 'top' },
  { table: 'on_demand_feature_views', idColumn: 'feature_view_name', protoColumn: 'feature_view_proto', type: 'feast.core.OnDemandFeatureView', field: 'on_demand_feature_views', stamp: 'spec' },
  { table: 'stream_feature_views', idColumn: 'feature_view_name', protoColumn: 'feature_view_proto', type: 'feast.core.StreamFeatureView', field: 'stream_feature_views', stamp: 'spec' },
  { table: 'feature_services', idColumn: 'feature_service_name', protoColumn: 'feature_service_proto', type: 'feast.core.FeatureService', field: 'feature_services', stamp: 'spec' },
  { table: 'label_views', idColumn: 'feature_view_name', protoColumn: 'feature_view_proto', type: 'feast.core.LabelView', field: 'label_views', stamp: 'spec' },
];

/** Without these there is no Feast SQL registry to read (every Feast version since 0.2x creates them). */
export const REQUIRED_TABLES: readonly string[] = ['entities', 'feature_views', 'feature_services'];

/**
 * The tables whose changes matter to a reader: `projects` (project_id, project_name,
 * project_proto), the object tables, and `feast_metadata` (project_id, metadata_key,
 * metadata_value, last_updated_timestamp), whose `last_updated_timestamp` key Feast rewrites on
 * every effective apply or delete. Tables added in later Feast versions (projects, label_views)
 * may be absent; readers skip what is not there.
 */
export const WATCHED_TABLES: readonly string[] = ['projects', ...OBJECT_TABLES.map((t) => t.table), 'feast_metadata'];

/** Quote an identifier for PostgreSQL. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
