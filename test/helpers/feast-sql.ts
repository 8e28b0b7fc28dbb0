/**
 * A Feast SQL registry on the local PostgreSQL, written exactly in Feast's table layout
 * (sdk/python/feast/infra/registry/sql.py; feast-compat.md §4.11): the DDL SQLAlchemy emits for
 * those Table declarations on PostgreSQL (String(255) -> VARCHAR(255), BigInteger -> BIGINT,
 * LargeBinary -> BYTEA, Text -> TEXT, an `idx_<table>_project_id` index each), and rows written the
 * way `_apply_object` / `_delete_object` write them: the serialized proto in the bytea column,
 * `project_id` = the project name, epoch-second `last_updated_timestamp`, an unchanged object left
 * alone, the project re-applied and `feast_metadata.last_updated_timestamp` rewritten on every
 * effective change. Protos come from src/registry/definition.ts (what `feast apply` would write).
 *
 * Each registry lives in its own schema of DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test); Feast's tables are unqualified, so the repo's registry
 * path selects the schema with libpq's `options=-csearch_path=<schema>`, as a psycopg user would.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { protoType } from '../../src/proto/root.js';
import { registryObject, type RepoDefinition } from '../../src/registry/definition.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function databaseUrl(): string {
  return process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

/** DDL of sql.py's tables as SQLAlchemy creates them on PostgreSQL. */
const DDL = `
CREATE TABLE projects (project_id VARCHAR(255) NOT NULL, project_name VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, project_proto BYTEA NOT NULL, PRIMARY KEY (project_id));
CREATE INDEX idx_projects_project_id ON projects (project_id);
CREATE TABLE entities (entity_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, entity_proto BYTEA NOT NULL, PRIMARY KEY (entity_name, project_id));
CREATE INDEX idx_entities_project_id ON entities (project_id);
CREATE TABLE data_sources (data_source_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, data_source_proto BYTEA NOT NULL, PRIMARY KEY (data_source_name, project_id));
CREATE INDEX idx_data_sources_project_id ON data_sources (project_id);
CREATE TABLE feature_views (feature_view_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, materialized_intervals BYTEA, feature_view_proto BYTEA NOT NULL, user_metadata BYTEA, PRIMARY KEY (feature_view_name, project_id));
CREATE INDEX idx_feature_views_project_id ON feature_views (project_id);
CREATE TABLE stream_feature_views (feature_view_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, feature_view_proto BYTEA NOT NULL, user_metadata BYTEA, PRIMARY KEY (feature_view_name, project_id));
CREATE INDEX idx_stream_feature_views_project_id ON stream_feature_views (project_id);
CREATE TABLE on_demand_feature_views (feature_view_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, feature_view_proto BYTEA NOT NULL, user_metadata BYTEA, PRIMARY KEY (feature_view_name, project_id));
CREATE INDEX idx_on_demand_feature_views_project_id ON on_demand_feature_views (project_id);
CREATE TABLE label_views (feature_view_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, feature_view_proto BYTEA NOT NULL, user_metadata BYTEA, PRIMARY KEY (feature_view_name, project_id));
CREATE INDEX idx_label_views_project_id ON label_views (project_id);
CREATE TABLE feature_services (feature_service_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, feature_service_proto BYTEA NOT NULL, PRIMARY KEY (feature_service_name, project_id));
CREATE INDEX idx_feature_services_project_id ON feature_services (project_id);
CREATE TABLE saved_datasets (saved_dataset_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, saved_dataset_proto BYTEA NOT NULL, PRIMARY KEY (saved_dataset_name, project_id));
CREATE INDEX idx_saved_datasets_project_id ON saved_datasets (project_id);
CREATE TABLE validation_references (validation_reference_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, validation_reference_proto BYTEA NOT NULL, PRIMARY KEY (validation_reference_name, project_id));
CREATE INDEX idx_validation_references_project_id ON validation_references (project_id);
CREATE TABLE managed_infra (infra_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, infra_proto BYTEA NOT NULL, PRIMARY KEY (infra_name, project_id));
CREATE INDEX idx_managed_infra_project_id ON managed_infra (project_id);
CREATE TABLE permissions (permission_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, last_updated_timestamp BIGINT NOT NULL, permission_proto BYTEA NOT NULL, PRIMARY KEY (permission_name, project_id));
CREATE INDEX idx_permissions_project_id ON permissions (project_id);
CREATE TABLE feature_view_version_history (feature_view_name VARCHAR(255) NOT NULL, project_id VARCHAR(255) NOT NULL, version_number INTEGER NOT NULL, feature_view_type VARCHAR(50) NOT NULL, feature_view_proto BYTEA NOT NULL, created_timestamp BIGINT NOT NULL, description TEXT, version_id VARCHAR(36) NOT NULL, PRIMARY KEY (feature_view_name, project_id, version_number));
CREATE INDEX idx_fv_version_history_project_id ON feature_view_version_history (project_id);
CREATE TABLE feast_metadata (project_id VARCHAR(255) NOT NULL, metadata_key VARCHAR(50) NOT NULL, metadata_value TEXT NOT NULL, last_updated_timestamp BIGINT NOT NULL, PRIMARY KEY (project_id, metadata_key));
CREATE INDEX idx_feast_metadata_project_id ON feast_metadata (project_id);
`;

/** Object tables written by `apply`: table, name column, proto column, proto type, Registry field. */
const TABLES = [
  ['entities', 'entity_name', 'entity_proto', 'feast.core.Entity', 'entities'],
  ['data_sources', 'data_source_name', 'data_source_proto', 'feast.core.DataSource', 'data_sources'],
  ['feature_views', 'feature_view_name', 'feature_view_proto', 'feast.core.FeatureView', 'feature_views'],
  ['stream_feature_views', 'feature_view_name', 'feature_view_proto', 'feast.core.StreamFeatureView', 'stream_feature_views'],
  ['on_demand_feature_views', 'feature_view_name', 'feature_view_proto', 'feast.core.OnDemandFeatureView', 'on_demand_feature_views'],
  ['feature_services', 'feature_service_name', 'feature_service_proto', 'feast.core.FeatureService', 'feature_services'],
] as const;

export type FeastTable = (typeof TABLES)[number][0] | 'projects';

type Obj = Record<string, any>;

const encode = (type: string, obj: Obj): Buffer => {
  const t = protoType(type);
  const err = t.verify(obj);
  if (err) throw new Error(`${type}: ${err}`);
  return Buffer.from(t.encode(t.fromObject(obj)).finish());
};

/** Feast's `==` on objects ignores timestamps: compare the spec only. */
const specBytes = (type: string, obj: Obj): string => {
  const { meta: _meta, ...rest } = obj;
  const clean = 'spec' in rest ? rest : { ...rest, meta: undefined };
  return encode(type, clean).toString('hex');
};

export interface FeastSqlRegistry {
  readonly schema: string;
  /** The registry path a feature_store.yaml writes (SQLAlchemy URL, psycopg driver, search_path). */
  readonly feastPath: string;
  /** A pg client on the schema (search_path set), for writes and checks. */
  readonly client: pg.Client;
  /** What `feast apply` of `def` writes: changed objects updated, new ones inserted, missing ones deleted. */
  apply(def: RepoDefinition): Promise<void>;
  /** Feast `_delete_object`: the row, the project re-apply, feast_metadata. */
  deleteObject(project: string, table: Exclude<FeastTable, 'projects'>, name: string): Promise<void>;
  /** Overwrites a proto cell with raw bytes (a damaged row). */
  corrupt(project: string, table: Exclude<FeastTable, 'projects'>, name: string, bytes: Buffer): Promise<void>;
  drop(): Promise<void>;
}

export function uniqueSchema(prefix: string): string {
  return `platter_${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9).toString(36)}`.toLowerCase();
}

/** DATABASE_URL -> the `postgresql+psycopg://` path Feast users write, with extra query parameters. */
export function feastPathFor(schema: string, extra: Record<string, string> = {}, scheme = 'postgresql+psycopg'): string {
  const u = new URL(databaseUrl());
  const params = new URLSearchParams({ options: `-csearch_path=${schema}`, ...extra });
  const auth = u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  return `${scheme}://${auth}${u.hostname}:${u.port || 5432}${u.pathname}?${params.toString()}`;
}

export async function adminClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: databaseUrl(), connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
  } catch (err) {
    throw new Error(`PostgreSQL at ${databaseUrl().replace(/:[^:@/]*@/, ':***@')} is not reachable (set DATABASE_URL): ${(err as Error).message}`);
  }
  return c;
}

export async function createFeastSqlRegistry(prefix: string, opts: { tables?: boolean } = {}): Promise<FeastSqlRegistry> {
  const schema = uniqueSchema(prefix);
  const client = await adminClient();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.query(`SET search_path TO ${schema}`);
  if (opts.tables !== false) await client.query(DDL);

  const now = () => Math.floor(Date.now() / 1000);

  /** feast_metadata as `_maybe_init_project_metadata` + `_set_last_updated_metadata` write it. */
  const touchMetadata = async (project: string, ts: number) => {
    await client.query(
      `INSERT INTO feast_metadata (project_id, metadata_key, metadata_value, last_updated_timestamp) VALUES ($1, 'project_uuid', $2, $3) ON CONFLICT DO NOTHING`,
      [project, randomUUID(), ts],
    );
    await client.query(
      `INSERT INTO feast_metadata (project_id, metadata_key, metadata_value, last_updated_timestamp) VALUES ($1, 'last_updated_timestamp', $2, $3)
       ON CONFLICT (project_id, metadata_key) DO UPDATE SET metadata_value = EXCLUDED.metadata_value, last_updated_timestamp = EXCLUDED.last_updated_timestamp`,
      [project, String(ts), ts],
    );
  };

  const ensureProject = async (project: string, ts: number) => {
    const p = { spec: { name: project }, meta: { created_timestamp: { seconds: ts }, last_updated_timestamp: { seconds: ts } } };
    await client.query(
      `INSERT INTO projects (project_id, project_name, last_updated_timestamp, project_proto) VALUES ($1, $1, $2, $3) ON CONFLICT DO NOTHING`,
      [project, ts, encode('feast.core.Project', p)],
    );
  };

  const inTx = async (fn: () => Promise<void>) => {
    await client.query('BEGIN');
    try {
      await fn();
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
  };

  const deleteObject = async (project: string, table: Exclude<FeastTable, 'projects'>, name: string) => {
    const idCol = TABLES.find((t) => t[0] === table)![1];
    await inTx(async () => {
      await client.query(`DELETE FROM ${table} WHERE ${idCol} = $1 AND project_id = $2`, [name, project]);
      await touchMetadata(project, now());
    });
  };

  return {
    schema,
    feastPath: feastPathFor(schema),
    deleteObject,
    client,
    async apply(def) {
      const ts = now();
      const reg = registryObject(def, new Date(ts * 1000)) as Obj;
      // Data sources as Feast registers them: each view's batch and stream (push) source.
      const sources = new Map<string, Obj>();
      for (const v of [...reg.feature_views, ...reg.stream_feature_views] as Obj[]) {
        for (const s of [v.spec.batch_source, v.spec.stream_source]) if (s?.name) sources.set(s.name, s);
      }
      reg.data_sources = [...sources.values()];
      await inTx(async () => {
        await touchMetadata(def.project, ts);
        await ensureProject(def.project, ts);
      });
      for (const [table, idCol, protoCol, type, field] of TABLES) {
        const wanted = new Map<string, Obj>();
        for (const o of reg[field] as Obj[]) wanted.set(o.spec ? o.spec.name : o.name, o);
        const existing = await client.query(`SELECT ${idCol} AS name, ${protoCol} AS proto FROM ${table} WHERE project_id = $1`, [def.project]);
        const have = new Map<string, Buffer>(existing.rows.map((r) => [r.name as string, r.proto as Buffer]));
        for (const [name, obj] of wanted) {
          const old = have.get(name);
          if (old !== undefined) {
            let oldObj: Obj | null = null;
            try {
              oldObj = protoType(type).toObject(protoType(type).decode(old), { longs: Number, defaults: false });
            } catch {
              // a damaged row (tests write them): overwrite it
            }
            if (oldObj !== null && specBytes(type, oldObj) === specBytes(type, obj)) continue; // unchanged: Feast returns early
            if (obj.meta && oldObj?.meta?.created_timestamp) obj.meta = { ...obj.meta, created_timestamp: oldObj.meta.created_timestamp };
            await inTx(async () => {
              await client.query(`UPDATE ${table} SET ${protoCol} = $1, last_updated_timestamp = $2 WHERE ${idCol} = $3 AND project_id = $4`, [
                encode(type, obj),
                ts,
                name,
                def.project,
              ]);
              await touchMetadata(def.project, ts);
            });
          } else {
            await inTx(async () => {
              await client.query(`INSERT INTO ${table} (${idCol}, project_id, last_updated_timestamp, ${protoCol}) VALUES ($1, $2, $3, $4)`, [
                name,
                def.project,
                ts,
                encode(type, obj),
              ]);
              await touchMetadata(def.project, ts);
            });
          }
        }
        for (const name of have.keys()) if (!wanted.has(name)) await deleteObject(def.project, table, name);
      }
    },
    async corrupt(project, table, name, bytes) {
      const [, idCol, protoCol] = TABLES.find((t) => t[0] === table)!;
      const res = await client.query(`UPDATE ${table} SET ${protoCol} = $1 WHERE ${idCol} = $2 AND project_id = $3`, [bytes, name, project]);
      if (res.rowCount !== 1) throw new Error(`no ${table} row '${name}' in project ${project}`);
    },
    async drop() {
      await client.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** The backend pids of LISTEN connections with this application_name. */
export async function listenerPids(client: pg.ClientBase, applicationName: string): Promise<number[]> {
  const res = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND backend_type = 'client backend'`,
    [`${applicationName} listen`],
  );
  return res.rows.map((r) => r.pid);
}
