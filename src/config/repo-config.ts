/**
 * The typed, frozen form of Feast's `feature_store.yaml` (feast/repo_config.py is the schema of
 * record) plus Platter's own `platter:` section. `load.ts` builds it once at startup; nothing
 * else reads the YAML. Every default lives in `DEFAULTS` and cites the Feast field it mirrors.
 */

/** Where a file registry lives, from its path's URL scheme or its `registry_store_type`. */
export type RegistryScheme = 'local' | 's3' | 'gs' | 'hdfs' | 'az' | 'custom';

/** Feast `RegistryConfig.cache_mode`: `sync` reloads lazily on an expired read, `thread` on a timer. */
export type RegistryCacheMode = 'sync' | 'thread';

/** Keys every Feast registry config has (`RegistryConfig` in repo_config.py). */
interface RegistryConfigBase {
  /** `registry.path` exactly as written (after `${VAR}` substitution). */
  readonly path: string;
  /** Seconds a loaded registry is served before a reload; 0 = load once, never refresh. @default 600 */
  readonly cacheTtlSeconds: number;
  /** @default 'sync' */
  readonly cacheMode: RegistryCacheMode;
  /** `<fv>_v<N>` Redis fields / SQLite tables when true (feast-compat.md §0 item 10). @default false */
  readonly enableOnlineFeatureViewVersioning: boolean;
  /** The registry mapping as written (`{path}` for the string form), for keys we do not model. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** `registry: <path>` or `registry: {registry_type: file, ...}` (feast/infra/registry/registry.py). */
export interface FileRegistryConfig extends RegistryConfigBase {
  readonly registryType: 'file';
  readonly scheme: RegistryScheme;
  /** Absolute path of the registry file when it is on the local file system. */
  readonly localPath?: string;
  /** `registry.registry_store_type` when set (e.g. `AzureRegistryStore`). */
  readonly registryStoreType?: string;
}

/** A SQLAlchemy database URL, read the way SQLAlchemy's `make_url` reads it. */
export interface SqlConnection {
  /** The URL scheme as written, e.g. `postgresql+psycopg`. */
  readonly scheme: string;
  /** The SQLAlchemy dialect (scheme before `+`), lower-cased: `postgresql`, `mysql`, `sqlite`, ... */
  readonly driver: string;
  /** The DBAPI after `+`, e.g. `psycopg`, `psycopg2`, `pymysql`. */
  readonly dbapi?: string;
  /** Percent-decoded, as SQLAlchemy decodes it. */
  readonly user?: string;
  /** Percent-decoded, as SQLAlchemy decodes it. A secret: never log a RepoConfig whole. */
  readonly password?: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  /** The `sslmode` query parameter, when given. */
  readonly sslmode?: string;
  /** Every query parameter; a repeated one becomes an array (SQLAlchemy does the same). */
  readonly params: Readonly<Record<string, string | readonly string[]>>;
}

/** `registry: {registry_type: sql, ...}` (`SqlRegistryConfig` in feast/infra/registry/sql.py). */
export interface SqlRegistryConfig extends RegistryConfigBase {
  readonly registryType: 'sql';
  /** Optional read replica URL. */
  readonly readPath?: string;
  readonly connection: SqlConnection;
  readonly readConnection?: SqlConnection;
  /** Extra `create_engine` kwargs. @default {echo: false} */
  readonly sqlalchemyConfigKwargs: Readonly<Record<string, unknown>>;
  /** @default 'auto' */
  readonly schemaMode: 'auto' | 'verify' | 'skip';
}

/** `registry: {registry_type: remote, path: host:port, ...}` (feast/infra/registry/remote.py). */
export interface RemoteRegistryConfig extends RegistryConfigBase {
  readonly registryType: 'remote';
  /** @default false */
  readonly isTls: boolean;
  /** @default '' */
  readonly cert: string;
}

/** A registry type Feast knows but Platter does not read (e.g. `snowflake.registry`). */
export interface UnsupportedRegistryConfig extends RegistryConfigBase {
  readonly registryType: 'unsupported';
  readonly name: string;
}

export type RegistryConfig =
  | FileRegistryConfig
  | SqlRegistryConfig
  | RemoteRegistryConfig
  | UnsupportedRegistryConfig;

/** `RedisType` in feast/infra/online_stores/redis.py. */
export type RedisType = 'redis' | 'redis_cluster' | 'redis_sentinel';

export interface RedisHost {
  readonly host: string;
  readonly port: number;
}

/** `online_store.connection_string`, split as Feast's `_parse_connection_string` splits it. */
export interface RedisConnection {
  /** Every `host:port` part in order; single-node Redis uses the first (as Feast does). */
  readonly hosts: readonly RedisHost[];
  /** A secret: never log a RepoConfig whole. */
  readonly password?: string;
  readonly username?: string;
  readonly db?: number;
  /** Python truthiness of the `ssl=` value, as redis-py applies it. */
  readonly ssl?: boolean;
  /**
   * `read_from_replicas=` (redis-py RedisCluster, default false): a cluster's reads go to the
   * replicas of each slot instead of its master.
   */
  readonly readFromReplicas?: boolean;
  /** Every other `key=value` part (redis-py keyword arguments), JSON-decoded when possible. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** `RedisOnlineStoreConfig` (feast/infra/online_stores/redis.py; feast-compat.md §2.5). */
export interface RedisOnlineStoreConfig {
  readonly type: 'redis';
  /** @default 'redis' */
  readonly redisType: RedisType;
  /** As written (it may hold a password: never log it). @default 'localhost:6379' */
  readonly connectionString: string;
  /** @default 'mymaster' */
  readonly sentinelMaster: string;
  /** EXPIRE set by writers on each row's hash; null or 0 = never expire. @default null */
  readonly keyTtlSeconds: number | null;
  /** @default true */
  readonly fullScanForDeletion: boolean;
  /** @default false */
  readonly skipDedup: boolean;
  readonly connection: RedisConnection;
}

/** `SqliteOnlineStoreConfig` (feast/infra/online_stores/sqlite.py). */
export interface SqliteOnlineStoreConfig {
  readonly type: 'sqlite';
  /** Absolute: a relative `path` resolves against the repo directory, as Feast's `_get_db_path`. */
  readonly path: string;
}

/**
 * An online store Feast knows (or a custom `...OnlineStore` class) that Platter does not read.
 * Loading succeeds: a writer or a later version may use it; `validateForServe` refuses it.
 */
export interface UnsupportedOnlineStoreConfig {
  readonly type: 'unsupported';
  /** Feast's short type name when known (`dynamodb`), otherwise `type` as written. */
  readonly name: string;
  readonly raw: Readonly<Record<string, unknown>>;
}

export type OnlineStoreConfig =
  | RedisOnlineStoreConfig
  | SqliteOnlineStoreConfig
  | UnsupportedOnlineStoreConfig;

export interface OfflineStoreConfig {
  /** Short type name; `file` is Feast's alias of `dask` and reads as `dask`. */
  readonly type: string;
  /** The mapping as written (`{type}` for the string form), for the writers that use it. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** `FeatureLoggingConfig` (feast/infra/feature_servers/base_config.py). */
export interface FeatureLoggingConfig {
  readonly enabled: boolean;
  readonly flushIntervalSecs: number;
  readonly writeToDiskIntervalSecs: number;
  readonly queueCapacity: number;
  readonly emitTimeoutMicroSecs: number;
}

/** `feature_server:` (`LocalFeatureServerConfig` / `McpFeatureServerConfig`). */
export interface FeatureServerConfig {
  /** `local` or `mcp`. @default 'local' */
  readonly type: string;
  /** @default false */
  readonly enabled: boolean;
  /** Always present, filled with Feast's defaults when `feature_logging` is absent. */
  readonly featureLogging: FeatureLoggingConfig;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** How a value older than its view's TTL is served (DESIGN.md §8 "view TTL on read"). */
export type TtlPolicy = 'flag' | 'null';

/** Platter's own `platter:` section. Every key is optional; CLI flags override these. */
export interface PlatterSettings {
  /** Entity rows per request above which a request is refused. @default 10000 */
  readonly maxEntityRows: number;
  /** Request body bytes above which a request is refused. @default 8 MiB */
  readonly maxRequestBytes: number;
  /** Deadline of one online store round trip, in milliseconds. @default 1000 */
  readonly onlineStoreTimeoutMs: number;
  /** `flag`: OUTSIDE_MAX_AGE with the value returned; `null`: the value is nulled. @default 'flag' */
  readonly ttlPolicy: TtlPolicy;
  /**
   * How a Redis read travels: `auto` (the fast lane: a second connection carrying prebuilt
   * HMGET/HGETALL bytes, replies parsed to offsets; least CPU on both sides), `script` (through
   * ioredis, one read-only Lua call returning every HMGET reply) or `pipeline` (through ioredis,
   * pipelined HMGETs). `auto` reads as `script` while its connection is down. @default 'auto'
   */
  readonly redisRead: 'auto' | 'script' | 'pipeline';
  /**
   * Serving processes sharing the HTTP and gRPC ports (`platter serve --workers`); `auto` is one
   * per core the process may use. One process serves on one core. @default 1
   */
  readonly workers: number | 'auto';
  readonly http: { readonly host: string; readonly port: number };
  readonly grpc: { readonly port: number };
  /**
   * The admin endpoint (`POST /admin/refresh-registry`, `GET /metrics`) on its own port; absent
   * unless `platter.admin` is written. Off without a port; refused without a token (`token` or the
   * PLATTER_ADMIN_TOKEN environment variable). The host defaults to `http.host`.
   */
  readonly admin?: { readonly host?: string; readonly port?: number; readonly token?: string };
}

export interface RepoConfig {
  /** Absolute repo directory: relative registry and SQLite paths resolve against it. */
  readonly repoPath: string;
  /** Absolute path of the YAML file read. */
  readonly configPath: string;
  readonly project: string;
  /** @default 'local' */
  readonly provider: string;
  readonly registry: RegistryConfig;
  /** null only for an explicit `online_store: null`; an absent key is Feast's SQLite default. */
  readonly onlineStore: OnlineStoreConfig | null;
  /** null only for an explicit `offline_store: null` (Feast then has no offline store). */
  readonly offlineStore: OfflineStoreConfig | null;
  /** @default 3 */
  readonly entityKeySerializationVersion: 1 | 2 | 3;
  /** null when `feature_server` is absent (Feast's default: no feature server config). */
  readonly featureServer: FeatureServerConfig | null;
  readonly platter: PlatterSettings;
  /** Things worth a startup warning: unset `${VAR}`s, deprecated or misspelt keys. */
  readonly warnings: readonly string[];
}

/**
 * Every default, grouped by section. Feast defaults cite their field; `platter` ones are ours.
 */
export const DEFAULTS = {
  /** repo_config.py `RepoConfig.provider`. */
  provider: 'local',
  /** repo_config.py `RepoConfig.entity_key_serialization_version` (StrictInt = 3). */
  entityKeySerializationVersion: 3,
  registry: {
    /** repo_config.py `RegistryConfig.registry_type`. */
    registryType: 'file',
    /** repo_config.py `RegistryConfig.cache_ttl_seconds`: 600 seconds (10 minutes). */
    cacheTtlSeconds: 600,
    /** repo_config.py `RegistryConfig.cache_mode`. */
    cacheMode: 'sync',
    /** repo_config.py `RegistryConfig.enable_online_feature_view_versioning`. */
    enableOnlineFeatureViewVersioning: false,
    /** sql.py `SqlRegistryConfig.sqlalchemy_config_kwargs`. */
    sqlalchemyConfigKwargs: { echo: false },
    /** sql.py `SqlRegistryConfig.schema_mode`. */
    schemaMode: 'auto',
    /** remote.py `RemoteRegistryConfig.is_tls`. */
    isTls: false,
    /** remote.py `RemoteRegistryConfig.cert`. */
    cert: '',
  },
  onlineStore: {
    /** repo_config.py `_validate_online_store_config`: a mapping without `type` is SQLite. */
    type: 'sqlite',
    redis: {
      /** redis.py `RedisOnlineStoreConfig.redis_type`. */
      redisType: 'redis',
      /** redis.py `RedisOnlineStoreConfig.connection_string`. */
      connectionString: 'localhost:6379',
      /** redis.py `RedisOnlineStoreConfig.sentinel_master`. */
      sentinelMaster: 'mymaster',
      /** redis.py `RedisOnlineStoreConfig.key_ttl_seconds`: no EXPIRE. */
      keyTtlSeconds: null,
      /** redis.py `RedisOnlineStoreConfig.full_scan_for_deletion`. */
      fullScanForDeletion: true,
      /** redis.py `RedisOnlineStoreConfig.skip_dedup`. */
      skipDedup: false,
    },
    sqlite: {
      /** sqlite.py `SqliteOnlineStoreConfig.path`, relative to the repo. */
      path: 'data/online.db',
    },
  },
  offlineStore: {
    /** repo_config.py `_validate_offline_store_config`: default `dask` (`file` is its alias). */
    type: 'dask',
  },
  featureServer: {
    /** repo_config.py `_validate_feature_server_config`: `type` defaults to `local`. */
    type: 'local',
    /** base_config.py `BaseFeatureServerConfig.enabled`. */
    enabled: false,
    /** base_config.py `FeatureLoggingConfig`. */
    featureLogging: {
      enabled: false,
      /** Seconds between flushes to the offline store. */
      flushIntervalSecs: 600,
      /** Seconds between dumps of in-memory logs to disk. */
      writeToDiskIntervalSecs: 30,
      /** Log items queued before new ones are dropped. */
      queueCapacity: 100_000,
      /** Microseconds Feast waits to enqueue one item (10 ms). */
      emitTimeoutMicroSecs: 10_000,
    },
  },
  platter: {
    maxEntityRows: 10_000,
    /** 8 MiB. */
    maxRequestBytes: 8 * 1024 * 1024,
    /** One online store round trip, milliseconds. */
    onlineStoreTimeoutMs: 1000,
    ttlPolicy: 'flag',
    redisRead: 'auto',
    workers: 1,
    /** Port of `feast serve` (cli/serve.py `--port`); Feast's host default is 127.0.0.1, ours listens on all interfaces for containers. */
    http: { host: '0.0.0.0', port: 6566 },
    grpc: { port: 6570 },
  },
} as const;

/**
 * Feast's `ONLINE_STORE_CLASS_FOR_TYPE` (repo_config.py), class path -> short type, so that
 * `type: feast.infra.online_stores.redis.RedisOnlineStore` reads as `redis`. Includes the
 * legacy `contrib` paths (`LEGACY_ONLINE_STORE_CLASS_FOR_TYPE`) under their current names.
 */
export const ONLINE_STORE_TYPE_FOR_CLASS: Readonly<Record<string, string>> = Object.freeze({
  'feast.infra.online_stores.aerospike_online_store.AerospikeOnlineStore': 'aerospike',
  'feast.infra.online_stores.sqlite.SqliteOnlineStore': 'sqlite',
  'feast.infra.online_stores.datastore.DatastoreOnlineStore': 'datastore',
  'feast.infra.online_stores.redis.RedisOnlineStore': 'redis',
  'feast.infra.online_stores.dynamodb.DynamoDBOnlineStore': 'dynamodb',
  'feast.infra.online_stores.snowflake.SnowflakeOnlineStore': 'snowflake.online',
  'feast.infra.online_stores.bigtable.BigtableOnlineStore': 'bigtable',
  'feast.infra.online_stores.postgres_online_store.postgres.PostgreSQLOnlineStore': 'postgres',
  'feast.infra.online_stores.hbase_online_store.hbase.HbaseOnlineStore': 'hbase',
  'feast.infra.online_stores.cassandra_online_store.cassandra_online_store.CassandraOnlineStore': 'cassandra',
  'feast.infra.online_stores.scylladb_online_store.scylladb.ScyllaDBOnlineStore': 'scylladb',
  'feast.infra.online_stores.mysql_online_store.mysql.MySQLOnlineStore': 'mysql',
  'feast.infra.online_stores.hazelcast_online_store.hazelcast_online_store.HazelcastOnlineStore': 'hazelcast',
  'feast.infra.online_stores.elasticsearch_online_store.elasticsearch.ElasticSearchOnlineStore': 'elasticsearch',
  'feast.infra.online_stores.remote.RemoteOnlineStore': 'remote',
  'feast.infra.online_stores.singlestore_online_store.singlestore.SingleStoreOnlineStore': 'singlestore',
  'feast.infra.online_stores.qdrant_online_store.qdrant.QdrantOnlineStore': 'qdrant',
  'feast.infra.online_stores.couchbase_online_store.couchbase.CouchbaseOnlineStore': 'couchbase.online',
  'feast.infra.online_stores.milvus_online_store.milvus.MilvusOnlineStore': 'milvus',
  'feast.infra.online_stores.mongodb_online_store.MongoDBOnlineStore': 'mongodb',
  'feast.infra.online_stores.hybrid_online_store.hybrid_online_store.HybridOnlineStore': 'hybrid',
  'feast.infra.online_stores.contrib.postgres.PostgreSQLOnlineStore': 'postgres',
  'feast.infra.online_stores.contrib.hbase_online_store.hbase.HbaseOnlineStore': 'hbase',
  'feast.infra.online_stores.contrib.cassandra_online_store.cassandra_online_store.CassandraOnlineStore': 'cassandra',
  'feast.infra.online_stores.contrib.mysql_online_store.mysql.MySQLOnlineStore': 'mysql',
  'feast.infra.online_stores.contrib.hazelcast_online_store.hazelcast_online_store.HazelcastOnlineStore': 'hazelcast',
  'feast.infra.online_stores.contrib.elasticsearch.ElasticSearchOnlineStore': 'elasticsearch',
  'feast.infra.online_stores.contrib.singlestore_online_store.singlestore.SingleStoreOnlineStore': 'singlestore',
  'feast.infra.online_stores.contrib.qdrant.QdrantOnlineStore': 'qdrant',
  'feast.infra.online_stores.contrib.milvus.MilvusOnlineStore': 'milvus',
});

/** The short names of `ONLINE_STORE_CLASS_FOR_TYPE` (repo_config.py). */
export const ONLINE_STORE_TYPES: ReadonlySet<string> = new Set(Object.values(ONLINE_STORE_TYPE_FOR_CLASS));

/** Feast's `OFFLINE_STORE_CLASS_FOR_TYPE` keys (repo_config.py); `file` is an alias of `dask`. */
export const OFFLINE_STORE_TYPES: ReadonlySet<string> = new Set([
  'file', 'dask', 'bigquery', 'redshift', 'snowflake.offline', 'spark', 'trino', 'postgres',
  'athena', 'mssql', 'duckdb', 'remote', 'couchbase.offline', 'clickhouse', 'ray', 'oracle', 'hybrid',
]);

/** Feast's `REGISTRY_CLASS_FOR_TYPE` keys (repo_config.py); any other `registry_type` is an error there. */
export const REGISTRY_TYPES: ReadonlySet<string> = new Set(['file', 'sql', 'snowflake.registry', 'remote']);

/**
 * `registry_store_type` -> scheme: Feast's `REGISTRY_STORE_CLASS_FOR_TYPE` (infra/registry/registry.py),
 * by short and by full class name.
 */
export const REGISTRY_SCHEME_FOR_STORE_TYPE: Readonly<Record<string, RegistryScheme>> = Object.freeze({
  FileRegistryStore: 'local',
  S3RegistryStore: 's3',
  GCSRegistryStore: 'gs',
  AzureRegistryStore: 'az',
  HDFSRegistryStore: 'hdfs',
  'feast.infra.registry.file.FileRegistryStore': 'local',
  'feast.infra.registry.s3.S3RegistryStore': 's3',
  'feast.infra.registry.gcs.GCSRegistryStore': 'gs',
  'feast.infra.registry.contrib.azure.azure_registry_store.AzBlobRegistryStore': 'az',
  'feast.infra.registry.contrib.hdfs.hdfs_registry_store.HDFSRegistryStore': 'hdfs',
});
