/**
 * loadRepoConfig / validateForServe: Feast's repo_config.py semantics (expandvars before a YAML 1.1
 * parse, registry and online store forms, defaults, aliases) and our error messages, which name
 * the file, the dotted key, the value and the accepted forms.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatterError } from '../../../src/errors.js';
import { expandEnvVars, loadRepoConfig, parseRedisConnectionString, parseSqlUrl } from '../../../src/config/load.js';
import { DEFAULTS, type RepoConfig } from '../../../src/config/repo-config.js';
import { validateForServe } from '../../../src/config/validate-serve.js';

const root = mkdtempSync(join(tmpdir(), 'platter-config-unit-'));
after(() => rmSync(root, { recursive: true, force: true }));

const BASE = 'project: p\nregistry: data/registry.db\n';

function repoWith(yaml: string): string {
  const dir = mkdtempSync(join(root, 'repo-'));
  writeFileSync(join(dir, 'feature_store.yaml'), yaml);
  return dir;
}

function load(yaml: string, env: Record<string, string> = {}): RepoConfig {
  return loadRepoConfig(repoWith(yaml), { env });
}

function loadError(yaml: string, env: Record<string, string> = {}): PlatterError {
  const dir = repoWith(yaml);
  try {
    loadRepoConfig(dir, { env });
  } catch (e) {
    assert.ok(e instanceof PlatterError, `expected a PlatterError, got ${String(e)}`);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.ok(e.message.includes(join(dir, 'feature_store.yaml')), `message names the file: ${e.message}`);
    return e;
  }
  assert.fail('expected CONFIG_INVALID');
}

function serveError(cfg: RepoConfig): string {
  try {
    validateForServe(cfg);
  } catch (e) {
    assert.ok(e instanceof PlatterError);
    assert.equal(e.code, 'CONFIG_UNSUPPORTED');
    return e.message;
  }
  assert.fail('expected CONFIG_UNSUPPORTED');
}

function redis(cfg: RepoConfig) {
  assert.ok(cfg.onlineStore?.type === 'redis', `expected redis, got ${JSON.stringify(cfg.onlineStore)}`);
  return cfg.onlineStore;
}

describe('environment substitution (os.path.expandvars before YAML parsing)', () => {
  test('$VAR and ${VAR} are replaced; an unset one is left verbatim', () => {
    const r = expandEnvVars('a=$A b=${B} c=${C} d=$D_1x e=${}', { A: '1', B: 'two', D_1x: 'dee' });
    assert.equal(r.text, 'a=1 b=two c=${C} d=dee e=${}');
    assert.deepEqual(r.unset.map((u) => u.name), ['C', '']);
  });

  test('substituted text is not expanded again, and $ alone stays', () => {
    assert.equal(expandEnvVars('x=$A y=$ z=$$A', { A: '$B', B: 'no' }).text, 'x=$B y=$ z=$$B');
  });

  test('values are substituted before parsing, so they can carry YAML', () => {
    const cfg = load('project: ${PROJECT}\nregistry:\n  path: $REG\n  cache_ttl_seconds: ${TTL}\n', { PROJECT: 'envproj', REG: 'r/reg.db', TTL: '30' });
    assert.equal(cfg.project, 'envproj');
    assert.equal(cfg.registry.path, 'r/reg.db');
    assert.equal(cfg.registry.cacheTtlSeconds, 30);
    assert.deepEqual(cfg.warnings, []);
  });

  test('an unset variable is kept as written, with one warning naming it', () => {
    const cfg = load(`${BASE}offline_store:\n  type: snowflake.offline\n  user: \${SF_USER}\n  role: $SF_ROLE\n  again: \${SF_USER}\n`);
    assert.equal(cfg.offlineStore?.raw['user'], '${SF_USER}');
    assert.equal(cfg.offlineStore?.raw['role'], '$SF_ROLE');
    assert.equal(cfg.warnings.length, 2);
    assert.match(cfg.warnings[0]!, /\$\{SF_USER\} is not set/);
    assert.match(cfg.warnings[1]!, /\$SF_ROLE is not set/);
  });

  test('a reference only in a comment gives no warning', () => {
    const cfg = load(`# set \${NOT_USED} first\n${BASE}`);
    assert.deepEqual(cfg.warnings, []);
  });

  test('env defaults to process.env', () => {
    process.env['PLATTER_TEST_PROJECT'] = 'from_process_env';
    try {
      const cfg = loadRepoConfig(repoWith('project: $PLATTER_TEST_PROJECT\nregistry: r.db\n'));
      assert.equal(cfg.project, 'from_process_env');
    } finally {
      delete process.env['PLATTER_TEST_PROJECT'];
    }
  });
});

describe('registry', () => {
  test('a string is a file registry with that path, resolved against the repo dir', () => {
    const dir = repoWith('project: p\nregistry: data/registry.db\n');
    const cfg = loadRepoConfig(dir, { env: {} });
    assert.deepEqual(cfg.registry, {
      registryType: 'file',
      path: 'data/registry.db',
      cacheTtlSeconds: 600,
      cacheMode: 'sync',
      enableOnlineFeatureViewVersioning: false,
      raw: { path: 'data/registry.db' },
      scheme: 'local',
      localPath: join(dir, 'data/registry.db'),
    });
    assert.equal(cfg.repoPath, dir);
    assert.equal(cfg.configPath, join(dir, 'feature_store.yaml'));
  });

  test('a mapping without registry_type is a file registry; absolute paths stay', () => {
    const cfg = load('project: p\nregistry:\n  path: /srv/feast/registry.db\n  cache_ttl_seconds: 0\n  cache_mode: thread\n  enable_online_feature_view_versioning: true\n');
    assert.ok(cfg.registry.registryType === 'file');
    assert.equal(cfg.registry.localPath, '/srv/feast/registry.db');
    assert.equal(cfg.registry.cacheTtlSeconds, 0);
    assert.equal(cfg.registry.cacheMode, 'thread');
    assert.equal(cfg.registry.enableOnlineFeatureViewVersioning, true);
  });

  test('object stores are detected by scheme or registry_store_type', () => {
    for (const [path, scheme] of [['s3://b/r.db', 's3'], ['gs://b/r.db', 'gs'], ['hdfs://nn/r.db', 'hdfs'], ['S3://b/r.db', 's3']] as const) {
      const reg = load(`project: p\nregistry: ${path}\n`).registry;
      assert.ok(reg.registryType === 'file');
      assert.equal(reg.scheme, scheme);
      assert.equal(reg.localPath, undefined);
    }
    const az = load('project: p\nregistry:\n  registry_store_type: AzureRegistryStore\n  path: https://acct.blob.core.windows.net/c/registry.db\n').registry;
    assert.ok(az.registryType === 'file');
    assert.equal(az.scheme, 'az');
    assert.equal(az.registryStoreType, 'AzureRegistryStore');
  });

  test('a file:// URL reads its path, with a warning that Feast reads it literally', () => {
    const cfg = load('project: p\nregistry: file:///srv/feast/registry.db\n');
    assert.ok(cfg.registry.registryType === 'file');
    assert.equal(cfg.registry.scheme, 'local');
    assert.equal(cfg.registry.localPath, '/srv/feast/registry.db');
    assert.ok(cfg.warnings.some((w) => w.includes('file: URL')));
  });

  test('SQL registry: SQLAlchemy URL forms', () => {
    const cfg = load('project: p\nregistry:\n  registry_type: sql\n  path: postgresql+psycopg://feast%40corp:p%40ss%3Aw0rd@db.internal:5433/feast_reg?sslmode=require&application_name=platter\n  read_path: postgresql+psycopg2://ro@replica/feast_reg\n  cache_ttl_seconds: 5\n');
    const reg = cfg.registry;
    assert.ok(reg.registryType === 'sql');
    assert.equal(reg.cacheTtlSeconds, 5);
    assert.deepEqual(reg.connection, {
      scheme: 'postgresql+psycopg',
      driver: 'postgresql',
      dbapi: 'psycopg',
      user: 'feast@corp',
      password: 'p@ss:w0rd',
      host: 'db.internal',
      port: 5433,
      database: 'feast_reg',
      sslmode: 'require',
      params: { sslmode: 'require', application_name: 'platter' },
    });
    assert.equal(reg.readPath, 'postgresql+psycopg2://ro@replica/feast_reg');
    assert.deepEqual(reg.readConnection, { scheme: 'postgresql+psycopg2', driver: 'postgresql', dbapi: 'psycopg2', user: 'ro', host: 'replica', database: 'feast_reg', params: {} });
    assert.deepEqual(reg.sqlalchemyConfigKwargs, { echo: false });
    assert.equal(reg.schemaMode, 'auto');
    validateForServe(cfg);
  });

  test('parseSqlUrl reads like sqlalchemy make_url', () => {
    // The password runs to the first '@', so ':' '/' '?' may appear unencoded in it.
    assert.deepEqual(parseSqlUrl('postgresql://u:a/b?c@h:1/d'), { scheme: 'postgresql', driver: 'postgresql', user: 'u', password: 'a/b?c', host: 'h', port: 1, database: 'd', params: {} });
    assert.deepEqual(parseSqlUrl('postgresql://[::1]:5432/db?x=1&x=2&blank=&flag'), { scheme: 'postgresql', driver: 'postgresql', host: '::1', port: 5432, database: 'db', params: { x: ['1', '2'] } });
    assert.deepEqual(parseSqlUrl('sqlite:///data/registry.db'), { scheme: 'sqlite', driver: 'sqlite', database: 'data/registry.db', params: {} });
    assert.throws(() => parseSqlUrl('localhost:5432/feast'), /registry\.path/);
    assert.throws(() => parseSqlUrl('postgresql://u:secret@h:port/db'), (e: Error) => /port/.test(e.message) && !e.message.includes('secret'));
  });

  test('remote registry', () => {
    const cfg = load('project: p\nregistry:\n  registry_type: remote\n  path: registry.svc:6570\n  is_tls: true\n');
    assert.ok(cfg.registry.registryType === 'remote');
    assert.equal(cfg.registry.path, 'registry.svc:6570');
    assert.equal(cfg.registry.isTls, true);
    assert.match(serveError(cfg), /`registry\.registry_type` is "remote".*copy the registry file locally and point `registry\.path` at it/);
  });

  test('errors name the key and the accepted forms', () => {
    assert.match(loadError('project: p\n').message, /`registry` is missing; expected a registry path/);
    assert.match(loadError('project: p\nregistry: 42\n').message, /`registry` is 42; expected/);
    assert.match(loadError('project: p\nregistry:\n  path: r.db\n  cache_ttl_seconds: -1\n').message, /`registry\.cache_ttl_seconds` is -1; expected a whole number of seconds >= 0 \(0 = load once/);
    assert.match(loadError('project: p\nregistry:\n  path: r.db\n  cache_ttl_seconds: soon\n').message, /`registry\.cache_ttl_seconds` is "soon"/);
    assert.match(loadError('project: p\nregistry:\n  registry_type: sqll\n  path: x\n').message, /`registry\.registry_type` is "sqll"; expected one of file, sql, snowflake\.registry, remote \(did you mean sql\?\)/);
    assert.match(loadError('project: p\nregistry:\n  cache_ttl_seconds: 60\n').message, /`registry\.path` is missing/);
    assert.match(loadError('project: p\nregistry: https://example.com/registry.db\n').message, /`registry` is "https:\/\/example\.com\/registry\.db"; expected a local path or an s3:\/\/, gs:\/\/ or hdfs:\/\/ URL/);
    assert.match(loadError('project: p\nregistry: postgresql://h/db\n').message, /registry_type: sql/);
    const sqlErr = loadError('project: p\nregistry:\n  registry_type: sql\n  path: not a url with secret\n').message;
    assert.match(sqlErr, /`registry\.path` is "not a url with secret"; expected a database URL/);
    assert.match(loadError('project: p\nregistry:\n  path: r.db\n  enable_online_feature_view_versioning: maybe\n').message, /`registry\.enable_online_feature_view_versioning` is "maybe"; expected true or false/);
  });

  test('an unknown cache_mode reads as sync (as Feast) with a warning; a misspelt key warns', () => {
    const cfg = load('project: p\nregistry:\n  path: r.db\n  cache_mode: async\n  cache_ttl_second: 5\n');
    assert.equal(cfg.registry.cacheMode, 'sync');
    assert.ok(cfg.warnings.some((w) => w.includes('`registry.cache_mode`')));
    assert.ok(cfg.warnings.some((w) => w.includes('did you mean `registry.cache_ttl_seconds`')));
  });
});

describe('defaults (repo_config.py)', () => {
  test('absent keys take Feast defaults', () => {
    const dir = repoWith(BASE);
    const cfg = loadRepoConfig(dir, { env: {} });
    assert.equal(cfg.provider, 'local');
    assert.equal(cfg.entityKeySerializationVersion, 3);
    assert.equal(cfg.registry.cacheTtlSeconds, 600);
    assert.deepEqual(cfg.onlineStore, { type: 'sqlite', path: join(dir, 'data/online.db') });
    assert.deepEqual(cfg.offlineStore, { type: 'dask', raw: { type: 'dask' } });
    assert.equal(cfg.featureServer, null);
    assert.deepEqual(cfg.platter, DEFAULTS.platter);
    assert.deepEqual(cfg.warnings, []);
  });

  test('an online_store mapping without type is SQLite; its path resolves against the repo', () => {
    const dir = repoWith(`${BASE}online_store:\n  path: store/online.db\n`);
    assert.deepEqual(loadRepoConfig(dir, { env: {} }).onlineStore, { type: 'sqlite', path: join(dir, 'store/online.db') });
    assert.deepEqual(load(`${BASE}online_store:\n  type: sqlite\n  path: /var/lib/online.db\n`).onlineStore, { type: 'sqlite', path: '/var/lib/online.db' });
  });

  test('online_store: null, "None" and "null" mean no online store', () => {
    for (const v of ['null', '~', 'None', '"null"']) assert.equal(load(`${BASE}online_store: ${v}\n`).onlineStore, null, v);
  });

  test('redis defaults', () => {
    const r = redis(load(`${BASE}online_store:\n  type: redis\n`));
    assert.deepEqual(
      { ...r, connection: undefined },
      { type: 'redis', redisType: 'redis', connectionString: 'localhost:6379', sentinelMaster: 'mymaster', keyTtlSeconds: null, fullScanForDeletion: true, skipDedup: false, connection: undefined },
    );
    assert.deepEqual(r.connection, { hosts: [{ host: 'localhost', port: 6379 }], options: {} });
  });

  test('feature_server: feature_logging defaults from base_config.py', () => {
    const cfg = load(`${BASE}feature_server:\n  enabled: true\n`);
    assert.deepEqual(cfg.featureServer, {
      type: 'local',
      enabled: true,
      featureLogging: { enabled: false, flushIntervalSecs: 600, writeToDiskIntervalSecs: 30, queueCapacity: 100000, emitTimeoutMicroSecs: 10000 },
      raw: { enabled: true },
    });
    const fs = load(`${BASE}feature_server:\n  type: local\n  feature_logging:\n    enabled: true\n    queue_capacity: 50\n`).featureServer;
    assert.equal(fs?.featureLogging.enabled, true);
    assert.equal(fs?.featureLogging.queueCapacity, 50);
    assert.equal(fs?.featureLogging.flushIntervalSecs, 600);
    assert.match(loadError(`${BASE}feature_server:\n  type: go\n`).message, /`feature_server\.type` is "go"; expected local or mcp/);
  });

  test('offline_store: string form, file alias, null', () => {
    assert.equal(load(`${BASE}offline_store: file\n`).offlineStore?.type, 'dask');
    assert.equal(load(`${BASE}offline_store: snowflake.offline\n`).offlineStore?.type, 'snowflake.offline');
    assert.equal(load(`${BASE}offline_store: null\n`).offlineStore, null);
    const odd = load(`${BASE}offline_store:\n  type: kafka\n`);
    assert.equal(odd.offlineStore?.type, 'kafka');
    assert.ok(odd.warnings.some((w) => w.includes('`offline_store.type`')));
  });

  test('platter section overrides, with typo warnings', () => {
    const cfg = load(`${BASE}platter:\n  max_entity_rows: 500\n  max_request_bytes: 1048576\n  online_store_timeout_ms: 50\n  ttl_policy: "null"\n  http: {host: 127.0.0.1, port: 8080}\n  grpc: {port: 0}\n  max_entity_row: 1\n`);
    assert.deepEqual(cfg.platter, { maxEntityRows: 500, maxRequestBytes: 1048576, onlineStoreTimeoutMs: 50, ttlPolicy: 'null', redisRead: 'auto', workers: 1, http: { host: '127.0.0.1', port: 8080 }, grpc: { port: 0 } });
    assert.ok(cfg.warnings.some((w) => w.includes('`platter.max_entity_row`') && w.includes('did you mean `platter.max_entity_rows`')));
    assert.match(loadError(`${BASE}platter:\n  ttl_policy: drop\n`).message, /`platter\.ttl_policy` is "drop"; expected flag .* or null/);
    assert.match(loadError(`${BASE}platter:\n  max_entity_rows: 0\n`).message, /`platter\.max_entity_rows` is 0; expected a whole number of rows > 0/);
    assert.match(loadError(`${BASE}platter:\n  http: {port: 70000}\n`).message, /`platter\.http\.port` is 70000/);
  });

  test('a near-miss of a top-level key warns; other unknown keys are ignored silently', () => {
    const cfg = load(`${BASE}onlinestore:\n  type: redis\nbatch_engine: local\nsomething_else: 1\n`);
    assert.equal(cfg.onlineStore?.type, 'sqlite');
    assert.deepEqual(cfg.warnings.length, 1);
    assert.match(cfg.warnings[0]!, /`onlinestore` .* did you mean `online_store`\?/);
  });
});

describe('online store types and Feast aliases (ONLINE_STORE_CLASS_FOR_TYPE)', () => {
  test('Python class paths map to redis and sqlite', () => {
    assert.equal(load(`${BASE}online_store:\n  type: feast.infra.online_stores.redis.RedisOnlineStore\n`).onlineStore?.type, 'redis');
    assert.equal(load(`${BASE}online_store:\n  type: feast.infra.online_stores.sqlite.SqliteOnlineStore\n`).onlineStore?.type, 'sqlite');
    assert.equal(load(`${BASE}online_store: feast.infra.online_stores.sqlite.SqliteOnlineStore\n`).onlineStore?.type, 'sqlite');
    assert.equal(load(`${BASE}online_store: redis\n`).onlineStore?.type, 'redis');
  });

  test('other Feast stores and plugin classes load as unsupported', () => {
    for (const [type, name] of [
      ['dynamodb', 'dynamodb'],
      ['feast.infra.online_stores.dynamodb.DynamoDBOnlineStore', 'dynamodb'],
      ['feast.infra.online_stores.contrib.postgres.PostgreSQLOnlineStore', 'postgres'],
      ['snowflake.online', 'snowflake.online'],
      ['my_pkg.stores.FancyOnlineStore', 'my_pkg.stores.FancyOnlineStore'],
    ]) {
      const cfg = load(`${BASE}online_store:\n  type: ${type}\n  anything: goes\n`);
      assert.ok(cfg.onlineStore?.type === 'unsupported', type);
      assert.equal(cfg.onlineStore.name, name);
      assert.equal(cfg.onlineStore.raw['anything'], 'goes');
      assert.match(serveError(cfg), /`online_store\.type` is ".*", which platter serve does not read; platter serve reads a Redis online store/);
    }
  });

  test('an unknown short type is an error, as in Feast', () => {
    assert.match(loadError(`${BASE}online_store:\n  type: redsi\n`).message, /`online_store\.type` is "redsi"; expected one of Feast's online store types .*did you mean redis\?/);
  });
});

describe('redis connection_string (redis.py _parse_connection_string)', () => {
  test('single host', () => {
    assert.deepEqual(parseRedisConnectionString('localhost:6379'), { hosts: [{ host: 'localhost', port: 6379 }], options: {} });
  });

  test('password, ssl, db and other kwargs, JSON-decoded', () => {
    const r = redis(load(`${BASE}online_store:\n  type: redis\n  connection_string: "redis:6379,password=pw,ssl=true,db=3,socket_timeout=0.5,client_name=platter"\n`));
    assert.deepEqual(r.connection, { hosts: [{ host: 'redis', port: 6379 }], password: 'pw', db: 3, ssl: true, options: { socket_timeout: 0.5, client_name: 'platter' } });
  });

  test('username, and a password that contains = or looks like a number', () => {
    assert.deepEqual(parseRedisConnectionString('h:1,username=svc,password=a=b'), { hosts: [{ host: 'h', port: 1 }], username: 'svc', password: 'a=b', options: {} });
    assert.equal(parseRedisConnectionString('h:1,password=0123').password, '0123');
    assert.equal(parseRedisConnectionString('h:1,password=123').password, '123');
    assert.equal(parseRedisConnectionString('h:1,password=').password, undefined);
  });

  test('multiple hosts for a cluster; a cluster node without port defaults to 6379', () => {
    const r = redis(load(`${BASE}online_store:\n  type: redis\n  redis_type: redis_cluster\n  connection_string: "n1:7000,n2:7001,n3,skip_full_coverage_check=true"\n`));
    assert.equal(r.redisType, 'redis_cluster');
    assert.deepEqual(r.connection.hosts, [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }, { host: 'n3', port: 6379 }]);
    assert.deepEqual(r.connection.options, { skip_full_coverage_check: true });
    validateForServe(load(`${BASE}online_store:\n  type: redis\n  redis_type: redis_cluster\n  connection_string: "n1:7000,n2:7001"\n`));
  });

  test('read_from_replicas (a RedisCluster keyword in Feast): absent = masters; true/false; Python truthiness with a warning', () => {
    assert.equal(parseRedisConnectionString('n1:7000,n2:7001', 'redis_cluster').readFromReplicas, undefined);
    assert.equal(parseRedisConnectionString('n1:7000,read_from_replicas=true', 'redis_cluster').readFromReplicas, true);
    assert.equal(parseRedisConnectionString('n1:7000,read_from_replicas=false', 'redis_cluster').readFromReplicas, false);
    const warnings: string[] = [];
    assert.equal(parseRedisConnectionString('n1:7000,read_from_replicas=1', 'redis_cluster', (w) => warnings.push(w)).readFromReplicas, true);
    assert.ok(warnings.some((w) => w.includes('read_from_replicas=1')), warnings.join('; '));
    assert.deepEqual(parseRedisConnectionString('n1:7000,read_from_replicas=true', 'redis_cluster').options, {}, 'not left among the other options');
  });

  test('ssl=True is a truthy string to redis-py: ssl on, with a warning', () => {
    const cfg = load(`${BASE}online_store:\n  type: redis\n  connection_string: "h:6379,ssl=True"\n`);
    assert.equal(redis(cfg).connection.ssl, true);
    assert.ok(cfg.warnings.some((w) => w.includes('ssl=True')));
    assert.equal(parseRedisConnectionString('h:1,ssl=false').ssl, false);
  });

  test('a key that Feast RedisOnlineStoreConfig forbids warns with a did-you-mean', () => {
    const cfg = load(`${BASE}online_store:\n  type: redis\n  conection_string: "h:1"\n`);
    assert.equal(redis(cfg).connectionString, 'localhost:6379');
    assert.ok(cfg.warnings.some((w) => w.includes('`online_store.conection_string`') && w.includes('did you mean `online_store.connection_string`')));
  });

  test('malformed connection strings name the key and hide the password', () => {
    const e = loadError(`${BASE}online_store:\n  type: redis\n  connection_string: "redis://h:6379,password=hunter2"\n`);
    assert.match(e.message, /`online_store\.connection_string` is "redis:\/\/h:6379,password=\*\*\*": part "redis:\/\/h:6379" has port "\/\/h"/);
    assert.ok(!e.message.includes('hunter2'));
    assert.match(loadError(`${BASE}online_store:\n  type: redis\n  connection_string: "db=0"\n`).message, /there is no host:port/);
    assert.match(loadError(`${BASE}online_store:\n  type: redis\n  connection_string: "myredis"\n`).message, /part "myredis" has no port/);
    assert.match(loadError(`${BASE}online_store:\n  type: redis\n  connection_string: "h:1,db=abc"\n`).message, /db=abc is not a database number/);
    assert.match(loadError(`${BASE}online_store:\n  type: redis\n  connection_string: 6379\n`).message, /`online_store\.connection_string` is 6379; expected host:port/);
  });
});

describe('invalid values: CONFIG_INVALID naming the file and the key', () => {
  test('entity_key_serialization_version', () => {
    assert.match(loadError(`${BASE}entity_key_serialization_version: 4\n`).message, /`entity_key_serialization_version` is 4; expected 3 \(Feast's default\), or 2 or 1/);
    assert.match(loadError(`${BASE}entity_key_serialization_version: "3"\n`).message, /`entity_key_serialization_version` is "3"/);
    const v1 = load(`${BASE}entity_key_serialization_version: 1\n`);
    assert.equal(v1.entityKeySerializationVersion, 1);
    assert.ok(v1.warnings.some((w) => w.includes('deprecated')));
  });

  test('online_store.key_ttl_seconds', () => {
    assert.match(loadError(`${BASE}online_store:\n  type: redis\n  key_ttl_seconds: abc\n`).message, /`online_store\.key_ttl_seconds` is "abc"; expected a whole number of seconds/);
    assert.match(loadError(`${BASE}online_store:\n  type: redis\n  key_ttl_seconds: -5\n`).message, /`online_store\.key_ttl_seconds` is -5/);
    assert.match(loadError(`${BASE}online_store:\n  type: redis\n  key_ttl_seconds: 1.5\n`).message, /is 1\.5/);
    // pydantic's lax int accepts an integer string.
    assert.equal(redis(load(`${BASE}online_store:\n  type: redis\n  key_ttl_seconds: "3600"\n`)).keyTtlSeconds, 3600);
    assert.equal(redis(load(`${BASE}online_store:\n  type: redis\n  key_ttl_seconds: null\n`)).keyTtlSeconds, null);
  });

  test('online_store.redis_type', () => {
    assert.match(loadError(`${BASE}online_store:\n  type: redis\n  redis_type: bogus\n`).message, /`online_store\.redis_type` is "bogus"; expected redis, redis_cluster or redis_sentinel/);
  });

  test('online_store that is not a mapping, a type name or null', () => {
    assert.match(loadError(`${BASE}online_store: [redis]\n`).message, /`online_store` is a list \["redis"\]; expected a mapping with `type`/);
    assert.match(loadError(`${BASE}online_store: 5\n`).message, /`online_store` is 5/);
    assert.match(loadError(`${BASE}online_store:\n  type: 5\n`).message, /`online_store\.type` is 5/);
  });

  test('project: missing, wrong type, invalid names', () => {
    assert.match(loadError('registry: r.db\n').message, /`project` is missing; expected a project name/);
    assert.match(loadError('project: 12\nregistry: r.db\n').message, /`project` is 12/);
    for (const bad of ['_foo', '-foo', '"my project"', 'a.b', '""']) {
      assert.match(loadError(`project: ${bad}\nregistry: r.db\n`).message, /`project` is .*letters, digits, underscores and hyphens, not starting with `_` or `-`/, bad);
    }
    assert.equal(load('project: Ünïcode_1\nregistry: r.db\n').project, 'Ünïcode_1');
  });

  test('a hyphen is refused with SQLite (table names) but accepted with Redis', () => {
    assert.match(loadError('project: my-proj\nregistry: r.db\n').message, /`project` is "my-proj"; expected no hyphens with a SQLite online store/);
    assert.equal(load('project: my-proj\nregistry: r.db\nonline_store:\n  type: redis\n').project, 'my-proj');
  });

  test('missing file: names the path and --repo', () => {
    const dir = join(root, 'no-such-repo');
    assert.throws(() => loadRepoConfig(dir, { env: {} }), (e: unknown) => {
      assert.ok(e instanceof PlatterError);
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.ok(e.message.includes(join(dir, 'feature_store.yaml')));
      assert.match(e.message, /--repo/);
      return true;
    });
  });

  test('a file option is read relative to the repo dir', () => {
    const dir = repoWith('');
    mkdirSync(join(dir, 'envs'));
    writeFileSync(join(dir, 'envs', 'prod.yaml'), 'project: prod\nregistry: data/r.db\n');
    const cfg = loadRepoConfig(dir, { env: {}, file: 'envs/prod.yaml' });
    assert.equal(cfg.project, 'prod');
    assert.equal(cfg.configPath, join(dir, 'envs', 'prod.yaml'));
    assert.ok(cfg.registry.registryType === 'file');
    assert.equal(cfg.registry.localPath, join(dir, 'data/r.db')); // the repo dir, not the file's dir
  });

  test('bad YAML and non-mapping documents', () => {
    assert.match(loadError('project: [unclosed\n').message, /not valid YAML/);
    assert.match(loadError('').message, /must be a YAML mapping/);
    assert.match(loadError('- a\n- b\n').message, /must be a YAML mapping/);
  });
});

describe('YAML 1.1, as PyYAML reads it', () => {
  test('yes/no/on/off are booleans (so StrictBool keys accept them, as Feast does)', () => {
    const cfg = load(`project: p\nregistry:\n  path: r.db\n  enable_online_feature_view_versioning: yes\nonline_store:\n  type: redis\n  skip_dedup: on\n  full_scan_for_deletion: off\n`);
    assert.equal(cfg.registry.enableOnlineFeatureViewVersioning, true);
    assert.equal(redis(cfg).skipDedup, true);
    assert.equal(redis(cfg).fullScanForDeletion, false);
    assert.equal(load(`${BASE}feature_server:\n  enabled: YES\n  feature_logging: {enabled: On}\n`).featureServer?.featureLogging.enabled, true);
  });

  test('a boolean where a string is needed fails as in Feast (project: no)', () => {
    assert.match(loadError('project: no\nregistry: r.db\n').message, /`project` is false/);
  });

  test('PyYAML scalars that eemeli/yaml 1.1 would read differently stay strings', () => {
    // y/n are not booleans in PyYAML; 1e3 (no dot) and 09 are not numbers there.
    assert.equal(load('project: y\nregistry: r.db\n').project, 'y');
    assert.equal(load('project: 1e3\nregistry: r.db\n').project, '1e3');
    assert.equal(load('project: 09\nregistry: r.db\n').project, '09');
    assert.equal(redis(load(`${BASE}online_store:\n  type: redis\n  key_ttl_seconds: 0x10\n`)).keyTtlSeconds, 16);
    assert.equal(redis(load(`${BASE}online_store:\n  type: redis\n  key_ttl_seconds: 010\n`)).keyTtlSeconds, 8); // YAML 1.1 octal
  });

  test('duplicate keys: the last one wins, as in PyYAML', () => {
    assert.equal(load('project: first\nproject: second\nregistry: r.db\n').project, 'second');
  });

  test('merge keys work', () => {
    const cfg = load(`${BASE}x-redis: &r\n  type: redis\n  connection_string: "h:1"\nonline_store:\n  <<: *r\n  key_ttl_seconds: 60\n`);
    assert.equal(redis(cfg).connection.hosts[0]?.host, 'h');
    assert.equal(redis(cfg).keyTtlSeconds, 60);
  });
});

describe('the result is deep-frozen', () => {
  test('nested objects and raw sections cannot be changed', () => {
    const cfg = load(`${BASE}offline_store:\n  type: spark\n  spark_conf: {a: b}\n`);
    assert.ok(Object.isFrozen(cfg));
    assert.ok(Object.isFrozen(cfg.platter.http));
    assert.ok(Object.isFrozen(cfg.offlineStore?.raw['spark_conf']));
    assert.throws(() => {
      (cfg as { project: string }).project = 'x';
    }, TypeError);
  });
});

describe('validateForServe', () => {
  test('accepts local file + redis, local file + sqlite, redis_cluster, SQL on PostgreSQL', () => {
    validateForServe(load(`${BASE}online_store:\n  type: redis\n`));
    validateForServe(load(BASE));
    validateForServe(load(`${BASE}online_store:\n  type: redis\n  redis_type: redis_cluster\n  connection_string: "a:1,b:2"\n`));
    validateForServe(load('project: p\nregistry:\n  registry_type: sql\n  path: postgresql+psycopg2://u:p@h/db\n'));
  });

  test('refuses sentinel, object storage, non-PostgreSQL SQL, snowflake registry, no online store', () => {
    assert.match(serveError(load(`${BASE}online_store:\n  type: redis\n  redis_type: redis_sentinel\n  connection_string: "s1:26379"\n`)), /`online_store\.redis_type` is "redis_sentinel", which is not supported yet; supported: redis, redis_cluster/);
    assert.match(serveError(load('project: p\nregistry: gs://bucket/registry.db\n')), /`registry` .* gs:\/\/ storage, which is not supported yet; copy the registry file locally and point `registry\.path` at it/);
    assert.match(serveError(load('project: p\nregistry:\n  registry_type: sql\n  path: mysql+pymysql://u:p@h/db\n')), /`registry\.path` is a SQL registry on "mysql"; platter serve reads a SQL registry from PostgreSQL only/);
    assert.match(serveError(load('project: p\nregistry:\n  registry_type: sql\n  path: sqlite:///registry.db\n')), /on "sqlite"/);
    assert.match(serveError(load('project: p\nregistry:\n  registry_type: snowflake.registry\n  path: x\n')), /`registry\.registry_type` is "snowflake\.registry"/);
    const message = serveError(load('project: p\nregistry: s3://b/r.db\nonline_store: null\n'));
    assert.match(message, /2 parts/);
    assert.match(message, /`online_store` is null/);
    assert.match(message, /`registry`/);
  });
});
