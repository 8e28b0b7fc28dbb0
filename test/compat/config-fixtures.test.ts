/**
 * Every feature_store.yaml shape in /work/shared/fixtures/feature_store/ loads or fails exactly as
 * that folder's README.md says (Feast's repo_config.py semantics: expandvars, registry forms,
 * online store defaults). Each fixture is copied into a fresh repo dir as feature_store.yaml.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlatterError } from '../../src/errors.js';
import { loadRepoConfig } from '../../src/config/load.js';
import type { RepoConfig } from '../../src/config/repo-config.js';
import { validateForServe } from '../../src/config/validate-serve.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/feature_store/', import.meta.url));
const present = existsSync(FIXTURES);
const root = mkdtempSync(join(tmpdir(), 'platter-config-fixtures-'));
after(() => rmSync(root, { recursive: true, force: true }));

function loadFixture(name: string, env: Record<string, string> = {}): { cfg: RepoConfig; dir: string } {
  const repo = mkdtempSync(join(root, 'repo-'));
  copyFileSync(join(FIXTURES, name), join(repo, 'feature_store.yaml'));
  return { cfg: loadRepoConfig(repo, { env }), dir: repo };
}

function serveError(cfg: RepoConfig): PlatterError {
  try {
    validateForServe(cfg);
  } catch (e) {
    assert.ok(e instanceof PlatterError, `expected a PlatterError, got ${String(e)}`);
    assert.equal(e.code, 'CONFIG_UNSUPPORTED');
    assert.ok(e.message.includes(cfg.configPath), 'the message names the file');
    return e;
  }
  assert.fail('validateForServe accepted a configuration it must refuse');
}

/** What README.md says of each file; a fixture without an entry fails the completeness test. */
const EXPECTATIONS: Record<string, (t: { name: string }) => void> = {
  'local-file-redis.yaml': ({ name }) => {
    const { cfg, dir } = loadFixture(name);
    assert.equal(cfg.project, 'driver_ranking');
    assert.equal(cfg.provider, 'local');
    assert.equal(cfg.entityKeySerializationVersion, 3);
    assert.ok(cfg.registry.registryType === 'file');
    assert.equal(cfg.registry.scheme, 'local');
    assert.equal(cfg.registry.path, 'data/registry.db');
    assert.equal(cfg.registry.localPath, join(dir, 'data/registry.db'));
    assert.equal(cfg.registry.cacheTtlSeconds, 60);
    const store = cfg.onlineStore;
    assert.ok(store?.type === 'redis');
    assert.equal(store.redisType, 'redis');
    assert.equal(store.keyTtlSeconds, 604800);
    assert.deepEqual(store.connection, { hosts: [{ host: 'localhost', port: 6379 }], db: 0, options: {} });
    assert.deepEqual(cfg.offlineStore?.type, 'dask'); // `file` is Feast's alias of dask
    assert.deepEqual(cfg.warnings, []);
    validateForServe(cfg);
  },

  'local-sqlite-default.yaml': ({ name }) => {
    const { cfg, dir } = loadFixture(name);
    assert.equal(cfg.project, 'my_project');
    assert.equal(cfg.entityKeySerializationVersion, 3);
    assert.ok(cfg.registry.registryType === 'file'); // the string form is a file registry
    assert.equal(cfg.registry.localPath, join(dir, 'data/registry.db'));
    assert.equal(cfg.registry.cacheTtlSeconds, 600);
    assert.deepEqual(cfg.onlineStore, { type: 'sqlite', path: join(dir, 'data/online_store.db') });
    assert.deepEqual(cfg.warnings, []);
    validateForServe(cfg);
  },

  's3-registry-dynamodb-spark.yaml': ({ name }) => {
    const { cfg } = loadFixture(name);
    assert.equal(cfg.project, 'feast_repo');
    assert.equal(cfg.provider, 'aws');
    assert.equal(cfg.entityKeySerializationVersion, 2);
    assert.ok(cfg.registry.registryType === 'file');
    assert.equal(cfg.registry.scheme, 's3');
    assert.equal(cfg.registry.localPath, undefined);
    assert.ok(cfg.onlineStore?.type === 'unsupported');
    assert.equal(cfg.onlineStore.name, 'dynamodb');
    assert.equal(cfg.onlineStore.raw['region'], 'us-west-1');
    assert.equal(cfg.offlineStore?.type, 'spark');
    assert.ok(cfg.warnings.some((w) => w.includes('entity_key_serialization_version')), 'version 2 is deprecated in Feast');
    const e = serveError(cfg);
    assert.match(e.message, /`registry`/);
    assert.match(e.message, /copy the registry file locally and point `registry\.path` at it/);
    assert.match(e.message, /`online_store\.type` is "dynamodb"/);
    assert.match(e.message, /redis/);
  },

  's3-registry-no-online.yaml': ({ name }) => {
    const { cfg } = loadFixture(name);
    assert.equal(cfg.project, 'feast_demo_aws');
    assert.equal(cfg.onlineStore, null); // explicit `online_store: null`
    assert.equal(cfg.entityKeySerializationVersion, 3);
    assert.ok(cfg.registry.registryType === 'file');
    assert.equal(cfg.registry.scheme, 's3');
    assert.ok(cfg.warnings.some((w) => w.includes('`flags`')));
    const e = serveError(cfg);
    assert.match(e.message, /`online_store` is null/);
    assert.match(e.message, /`registry`/);
  },

  'sql-registry-redis-snowflake.yaml': ({ name }) => {
    const env = {
      SNOWFLAKE_DEPLOYMENT_URL: 'xy12345.us-east-1',
      SNOWFLAKE_USER: 'feast_user',
      SNOWFLAKE_PASSWORD: 'p@ss',
      SNOWFLAKE_ROLE: 'FEAST',
      SNOWFLAKE_WAREHOUSE: 'WH',
    };
    const { cfg } = loadFixture(name, env);
    assert.equal(cfg.project, 'feast_demo_local');
    assert.equal(cfg.entityKeySerializationVersion, 2);
    const reg = cfg.registry;
    assert.ok(reg.registryType === 'sql');
    assert.equal(reg.path, 'postgresql://postgres:mysecretpassword@127.0.0.1:55001/feast');
    assert.equal(reg.cacheTtlSeconds, 600);
    assert.deepEqual(reg.connection, {
      scheme: 'postgresql',
      driver: 'postgresql',
      user: 'postgres',
      password: 'mysecretpassword',
      host: '127.0.0.1',
      port: 55001,
      database: 'feast',
      params: {},
    });
    assert.ok(cfg.onlineStore?.type === 'redis');
    assert.equal(cfg.onlineStore.connectionString, 'localhost:6379');
    assert.deepEqual(cfg.onlineStore.connection.hosts, [{ host: 'localhost', port: 6379 }]);
    assert.equal(cfg.onlineStore.keyTtlSeconds, null);
    assert.equal(cfg.offlineStore?.type, 'snowflake.offline');
    assert.equal(cfg.offlineStore?.raw['user'], 'feast_user');
    assert.equal(cfg.offlineStore?.raw['password'], 'p@ss');
    assert.equal(cfg.offlineStore?.raw['database'], 'TECTON_DEMO_DATA');
    assert.ok(!cfg.warnings.some((w) => w.includes('SNOWFLAKE')), 'no warning when every variable is set');
    validateForServe(cfg); // a SQL registry on PostgreSQL is accepted

    // Unset: left verbatim (Feast's os.path.expandvars), with a warning naming each variable.
    const unset = loadFixture(name, {}).cfg;
    assert.equal(unset.offlineStore?.raw['user'], '${SNOWFLAKE_USER}');
    for (const v of ['SNOWFLAKE_USER', 'SNOWFLAKE_PASSWORD', 'SNOWFLAKE_ROLE', 'SNOWFLAKE_WAREHOUSE', 'SNOWFLAKE_DEPLOYMENT_URL']) {
      assert.equal(unset.warnings.filter((w) => w.includes(`\${${v}}`)).length, 1, `one warning for ${v}`);
    }
    validateForServe(unset);
  },
};

describe('feature_store.yaml fixtures (shared/fixtures/feature_store/README.md)', () => {
  if (!present) {
    test('fixtures folder', (t) => t.skip(`no fixtures at ${FIXTURES}`));
    return;
  }
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();

  test('every fixture has an expectation here', () => {
    assert.deepEqual(files, Object.keys(EXPECTATIONS).sort());
  });

  for (const name of files) {
    test(`${name} loads`, () => {
      const { cfg } = loadFixture(name, { SNOWFLAKE_USER: 'u' });
      assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.registry) && Object.isFrozen(cfg.warnings));
    });
    const expect = EXPECTATIONS[name];
    if (expect) test(`${name} reads as README.md says`, () => expect({ name }));
  }
});
