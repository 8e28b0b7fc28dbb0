/**
 * Feast's SQL registry on a real PostgreSQL, written in Feast's table layout
 * (test/helpers/feast-sql.ts; feast-compat.md §4.11), served by `platter serve` over a real Redis:
 * NOTIFY-triggered refresh (with `cache_ttl_seconds: 0`, so no poll can explain a refresh), the
 * poll without the trigger, deletes, a killed LISTEN connection, a damaged row, a registry that
 * does not validate, the admin endpoint, the URL forms Feast accepts, and `platter registry dump`.
 * Each describe block has its own schema (search_path via the URL's libpq `options`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { registryCommand } from '../../src/cli/registry.js';
import { serve, type RunningServer, type ServeOptions } from '../../src/cli/serve.js';
import { loadRepoConfig, parseSqlUrl } from '../../src/config/load.js';
import type { SqlRegistryConfig } from '../../src/config/repo-config.js';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { ValueType } from '../../src/encoding/value-type.js';
import { protoType } from '../../src/proto/root.js';
import { encodeRegistry, type RepoDefinition } from '../../src/registry/definition.js';
import { dumpIndex } from '../../src/registry/dump.js';
import { buildRegistryIndex } from '../../src/registry/registry-index.js';
import { decodeRegistry } from '../../src/registry/sources/decode.js';
import { pgTarget, sslFor } from '../../src/registry/sources/pg-connection.js';
import { NOTIFY_TRIGGER } from '../../src/registry/sources/sql-notify.js';
import { SqlRegistrySource } from '../../src/registry/sources/sql.js';
import { errorDetail, entityColumn, featureColumn, responseText } from '../helpers/feast-json.js';
import { seedFeastRedis } from '../helpers/feast-redis.js';
import { adminClient, createFeastSqlRegistry, feastPathFor, listenerPids, type FeastSqlRegistry } from '../helpers/feast-sql.js';
import { dropProject, redisClient, redisTarget, uniqueProject } from '../helpers/services.js';

const TOKEN = 'test-admin-token-0123456789';
const TS_2024 = 1704067200;
const T0 = '2024-01-01T00:00:00Z';
/** "Eventually" deadlines: generous, so a slow CI machine passes; the point is that it happens. */
const DEADLINE_MS = 15_000;
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Shape {
  trips?: boolean;
  extra?: boolean;
  service?: boolean;
}

function definition(project: string, s: Shape = {}): RepoDefinition {
  return {
    project,
    entities: [{ name: 'driver', joinKey: 'driver_id', valueType: 'INT64' }],
    featureViews: [
      {
        name: 'driver_stats',
        entities: ['driver'],
        features: [{ name: 'conv_rate', valueType: 'DOUBLE' }, ...(s.trips ? [{ name: 'trips', valueType: 'INT64' as const }] : [])],
        pushSourceName: 'driver_push',
      },
      ...(s.extra ? [{ name: 'driver_extra', entities: ['driver'], features: [{ name: 'rating', valueType: 'DOUBLE' as const }] }] : []),
    ],
    featureServices: s.service ? [{ name: 'svc', projections: [{ view: 'driver_stats', alias: 'ds', features: ['conv_rate'] }] }] : [],
  };
}

async function seed(client: Redis, project: string): Promise<void> {
  const drv = { driver_id: { type: 4 as const, value: 1 } };
  await seedFeastRedis(client, project, 'driver_stats', [
    { entity: drv, ts: { seconds: TS_2024 }, values: { conv_rate: encodeValue(ValueType.DOUBLE, 0.5), trips: encodeValue(ValueType.INT64, 7) } },
  ]);
  await seedFeastRedis(client, project, 'driver_extra', [{ entity: drv, ts: { seconds: TS_2024 }, values: { rating: encodeValue(ValueType.DOUBLE, 4.5) } }]);
}

const CONV = responseText(['driver_id', 'conv_rate'], [entityColumn(['1']), featureColumn(['0.5'], 'PRESENT', T0)]);
const TRIPS = responseText(['driver_id', 'trips'], [entityColumn(['1']), featureColumn(['7'], 'PRESENT', T0)]);
const RATING = responseText(['driver_id', 'rating'], [entityColumn(['1']), featureColumn(['4.5'], 'PRESENT', T0)]);
const body = (features: string[]) => ({ features, entities: { driver_id: [1] } });

function writeRepo(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'platter-sqlreg-'));
  writeFileSync(join(dir, 'feature_store.yaml'), yaml);
  return dir;
}

async function sqlYaml(project: string, path: string, ttl: number, extra: string[] = []): Promise<string> {
  const t = await redisTarget();
  return [
    `project: ${project}`,
    'provider: local',
    'registry:',
    '  registry_type: sql',
    `  path: "${path}"`,
    `  cache_ttl_seconds: ${ttl}`,
    '  cache_mode: thread',
    ...extra,
    'online_store:',
    '  type: redis',
    `  connection_string: "${t.host}:${t.port}"`,
    'entity_key_serialization_version: 3',
    '',
  ].join('\n');
}

interface Harness {
  server: RunningServer;
  post(b: unknown): Promise<{ status: number; text: string; json: any }>;
  admin(method: string, path: string, token?: string | null): Promise<{ status: number; text: string; json: any }>;
}

async function call(url: string, init: RequestInit): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), connection: 'close' } });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

async function start(repo: string, extra: Partial<ServeOptions> = {}): Promise<Harness> {
  const server = await serve({
    repo,
    host: '127.0.0.1',
    port: 0,
    grpcPort: null,
    adminPort: 0,
    logger,
    env: { ...process.env, PLATTER_ADMIN_TOKEN: TOKEN },
    registry: { eventDebounceMs: 50, eventMaxDelayMs: 300 },
    registrySource: { listen: { minBackoffMs: 50, maxBackoffMs: 1000 } },
    ...extra,
  });
  const base = `http://127.0.0.1:${server.http.port}`;
  return {
    server,
    post: (b) => call(`${base}/get-online-features`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) }),
    admin: (method, path, token = TOKEN) =>
      call(`http://127.0.0.1:${server.admin!.port}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } }),
  };
}

/** Polls `probe` until it returns true or the deadline passes; returns the elapsed milliseconds. */
async function eventually(what: string, probe: () => Promise<boolean>, deadlineMs = DEADLINE_MS): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < deadlineMs) {
    if (await probe()) return Date.now() - t0;
    await sleep(25);
  }
  assert.fail(`${what}: not within ${deadlineMs} ms`);
}

/**
 * The LISTEN connection is up and the refresh its connect triggers (to catch changes made while
 * it was away) is done: from here on, with cache_ttl_seconds 0, only NOTIFY or the admin
 * endpoint can refresh.
 */
async function settled(h: Harness): Promise<void> {
  await eventually('LISTEN connected and its catch-up refresh done', async () => h.server.registry.watchStatus?.connected === true && h.server.registry.stats.refreshes >= 2);
  await sleep(100);
}

const servedAs = (h: Harness, features: string[], expected: string) => async () => {
  const r = await h.post(body(features));
  return r.status === 200 && r.text === expected;
};

describe('SQL registry with the NOTIFY trigger (cache_ttl_seconds: 0, so nothing but NOTIFY refreshes)', () => {
  const project = uniqueProject('sqlnotify');
  const app = `platter_test_${process.pid}_${Math.floor(Math.random() * 1e9).toString(36)}`;
  let reg: FeastSqlRegistry;
  let redis: Redis;
  let repo: string;
  let h: Harness;

  before(async () => {
    redis = await redisClient();
    await seed(redis, project);
    reg = await createFeastSqlRegistry('notify');
    await reg.apply(definition(project, { extra: true, service: true }));
    repo = writeRepo(await sqlYaml(project, feastPathFor(reg.schema, { application_name: app, sslmode: 'disable' }), 0));
    // Installed through the CLI command, twice: it is idempotent.
    const out1 = await registryCommand('install-notify', { repo, logger });
    const out2 = await registryCommand('install-notify', { repo, logger });
    assert.match(out1, new RegExp(`installed trigger ${NOTIFY_TRIGGER} on ${reg.schema}\\.projects, ${reg.schema}\\.entities`));
    assert.equal(out2, out1);
    h = await start(repo);
    await settled(h);
  });

  after(async () => {
    await h?.server.close();
    await reg?.drop();
    if (redis) {
      await dropProject(redis, project);
      await redis.quit();
    }
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('install-notify put exactly one trigger on every registry table Feast created', async () => {
    const res = await reg.client.query(
      `SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND g.tgname = $2 ORDER BY c.relname`,
      [reg.schema, NOTIFY_TRIGGER],
    );
    assert.deepEqual(
      res.rows.map((r) => r.relname),
      ['data_sources', 'entities', 'feast_metadata', 'feature_services', 'feature_views', 'label_views', 'on_demand_feature_views', 'projects', 'stream_feature_views'],
    );
  });

  it('serves features from the registry rows as Feast wrote them', async () => {
    const a = await h.post(body(['driver_stats:conv_rate']));
    assert.equal(a.status, 200, a.text);
    assert.equal(a.text, CONV);
    const b = await h.post(body(['driver_extra:rating']));
    assert.equal(b.text, RATING);
    const s = await h.post({ feature_service: 'svc', entities: { driver_id: [1] } });
    assert.equal(s.status, 200, s.text);
    assert.equal(s.text, CONV);
  });

  it('a feature added by feast apply is served within a deadline, through NOTIFY alone', async () => {
    const before404 = await h.post(body(['driver_stats:trips']));
    assert.equal(before404.status, 404, before404.text);
    assert.equal(errorDetail(before404).code, 'FEATURE_NOT_FOUND');
    const notifies = h.server.registry.watchStatus!.events;

    await reg.apply(definition(project, { extra: true, service: true, trips: true }));
    const ms = await eventually('the new feature served', servedAs(h, ['driver_stats:trips'], TRIPS), 5000);
    // No poll runs (cache_ttl_seconds: 0) and nobody called the admin endpoint: NOTIFY did it.
    assert.ok(h.server.registry.watchStatus!.events > notifies, 'no NOTIFY arrived');
    console.log(`# NOTIFY refresh: new feature served ${ms} ms after feast apply committed`);
  });

  it('a view and a feature service dropped by feast apply answer 404', async () => {
    await reg.apply(definition(project, { trips: true }));
    await eventually('driver_extra gone', async () => (await h.post(body(['driver_extra:rating']))).status === 404);
    const v = await h.post(body(['driver_extra:rating']));
    assert.equal(errorDetail(v).code, 'FEATURE_VIEW_NOT_FOUND');
    await eventually('svc gone', async () => (await h.post({ feature_service: 'svc', entities: { driver_id: [1] } })).status === 404);
    const s = await h.post({ feature_service: 'svc', entities: { driver_id: [1] } });
    assert.equal(errorDetail(s).code, 'FEATURE_SERVICE_NOT_FOUND');
    assert.equal((await h.post(body(['driver_stats:trips']))).text, TRIPS);
  });

  it('reconnects after its LISTEN connection is killed (pg_terminate_backend) and keeps refreshing', async () => {
    const pg = await adminClient();
    try {
      const [old, ...others] = await listenerPids(pg, app);
      assert.ok(old !== undefined && others.length === 0, `expected one LISTEN backend for ${app}`);
      const connects = h.server.registry.watchStatus!.connects;
      const killed = await pg.query('SELECT pg_terminate_backend($1) AS ok', [old]);
      assert.equal(killed.rows[0].ok, true);
      await eventually('a new LISTEN backend', async () => {
        const pids = await listenerPids(pg, app);
        return pids.length === 1 && pids[0] !== old && h.server.registry.watchStatus!.connected;
      });
      assert.ok(h.server.registry.watchStatus!.connects > connects);

      await reg.apply(definition(project, { trips: true, extra: true }));
      await eventually('driver_extra back, via the new LISTEN connection', servedAs(h, ['driver_extra:rating'], RATING), 5000);
    } finally {
      await pg.end();
    }
  });

  it('a damaged proto row is refused; the last good registry keeps serving; metrics and the admin endpoint say why', async () => {
    const failures = h.server.registry.stats.failures;
    // 0xde: field 27 with wire type 6, which protobuf does not have.
    await reg.corrupt(project, 'feature_views', 'driver_stats', Buffer.from('deadbeef', 'hex'));
    await eventually('the failed refresh', async () => h.server.registry.stats.failures > failures);

    assert.equal((await h.post(body(['driver_stats:trips']))).text, TRIPS);
    assert.equal((await h.post(body(['driver_extra:rating']))).text, RATING);

    const metrics = await h.admin('GET', '/metrics', null);
    assert.equal(metrics.status, 200);
    const failuresMetric = Number(/^registry_refresh_failures_total (\d+)$/m.exec(metrics.text)?.[1]);
    assert.ok(failuresMetric >= 1, metrics.text);
    assert.ok(Number(/^registry_last_success_timestamp (\S+)$/m.exec(metrics.text)?.[1]) > TS_2024, metrics.text);
    assert.match(metrics.text, /^registry_watch_connected\{kind="listen"\} 1$/m);

    const refresh = await h.admin('POST', '/admin/refresh-registry');
    assert.equal(refresh.status, 500, refresh.text);
    assert.equal(refresh.json.error.code, 'REGISTRY_INVALID');
    assert.match(refresh.json.error.message, new RegExp(`feature_views row \\(project_id '${project}', feature_view_name 'driver_stats'\\): feature_view_proto is not a feast.core.FeatureView`));
    assert.ok(refresh.json.serving.generation > 0);

    // Repaired by the next apply: served again.
    await reg.apply(definition(project, { trips: true }));
    await eventually('driver_extra dropped after the repair', async () => (await h.post(body(['driver_extra:rating']))).status === 404);
    assert.equal((await h.post(body(['driver_stats:trips']))).text, TRIPS);
    assert.equal(h.server.registry.stats.lastError, null);
  });

  it('a feature service naming a missing view does not validate; the last good registry keeps serving', async () => {
    const t = protoType('feast.core.FeatureService');
    const bad = t.encode(t.fromObject({ spec: { name: 'broken', project, features: [{ feature_view_name: 'no_such_view' }] } })).finish();
    const failures = h.server.registry.stats.failures;
    await reg.client.query(
      'INSERT INTO feature_services (feature_service_name, project_id, last_updated_timestamp, feature_service_proto) VALUES ($1, $2, $3, $4)',
      ['broken', project, Math.floor(Date.now() / 1000), Buffer.from(bad)],
    );
    await eventually('the failed refresh', async () => h.server.registry.stats.failures > failures);
    assert.match(h.server.registry.stats.lastError ?? '', /feature service 'broken' uses feature view 'no_such_view'/);
    assert.equal((await h.post(body(['driver_stats:trips']))).text, TRIPS);

    await reg.deleteObject(project, 'feature_services', 'broken');
    await eventually('recovered', async () => h.server.registry.stats.lastError === null);
  });
});

describe('SQL registry without the trigger: the poll (cache_ttl_seconds: 1) picks changes up', () => {
  const project = uniqueProject('sqlpoll');
  let reg: FeastSqlRegistry;
  let redis: Redis;
  let repo: string;
  let h: Harness;

  before(async () => {
    redis = await redisClient();
    await seed(redis, project);
    reg = await createFeastSqlRegistry('poll');
    await reg.apply(definition(project));
    repo = writeRepo(await sqlYaml(project, reg.feastPath, 1));
    h = await start(repo);
  });

  after(async () => {
    await h?.server.close();
    await reg?.drop();
    if (redis) {
      await dropProject(redis, project);
      await redis.quit();
    }
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('serves a feature added by feast apply once the poll runs, with no NOTIFY involved', async () => {
    await eventually('LISTEN connected', async () => h.server.registry.watchStatus?.connected === true);
    assert.equal((await h.post(body(['driver_stats:trips']))).status, 404);
    const swaps = h.server.registry.stats.swaps;
    await reg.apply(definition(project, { trips: true }));
    const ms = await eventually('the new feature served', servedAs(h, ['driver_stats:trips'], TRIPS));
    // Without the trigger no notification can arrive: the poll did it.
    assert.equal(h.server.registry.watchStatus!.events, 0);
    assert.ok(h.server.registry.stats.swaps > swaps);
    console.log(`# poll refresh (1 s): new feature served ${ms} ms after feast apply`);
    // Polls that find nothing new do not reload: refreshes go on, swaps do not. (A poll may have
    // landed mid-apply and swapped an intermediate state, so count from here.)
    await sleep(1100);
    const settledSwaps = h.server.registry.stats.swaps;
    const refreshes = h.server.registry.stats.refreshes;
    await eventually('two more polls', async () => h.server.registry.stats.refreshes >= refreshes + 2);
    assert.equal(h.server.registry.stats.swaps, settledSwaps);
  });

  it('a deleted view answers 404 after the next poll', async () => {
    await reg.apply(definition(project, { trips: true, extra: true }));
    await eventually('driver_extra served', servedAs(h, ['driver_extra:rating'], RATING));
    await reg.deleteObject(project, 'feature_views', 'driver_extra');
    await eventually('driver_extra gone', async () => (await h.post(body(['driver_extra:rating']))).status === 404);
  });
});

describe('admin endpoint (cache_ttl_seconds: 0, no trigger: only the admin call refreshes)', () => {
  const project = uniqueProject('sqladmin');
  let reg: FeastSqlRegistry;
  let redis: Redis;
  let repo: string;
  let h: Harness;

  before(async () => {
    redis = await redisClient();
    await seed(redis, project);
    reg = await createFeastSqlRegistry('admin');
    await reg.apply(definition(project));
    repo = writeRepo(await sqlYaml(project, reg.feastPath, 0));
    h = await start(repo);
    await settled(h);
  });

  after(async () => {
    await h?.server.close();
    await reg?.drop();
    if (redis) {
      await dropProject(redis, project);
      await redis.quit();
    }
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('refuses a missing or wrong bearer token', async () => {
    for (const token of [null, 'wrong']) {
      const r = await h.admin('POST', '/admin/refresh-registry', token);
      assert.equal(r.status, 401, r.text);
      assert.equal(r.json.error.code, 'UNAUTHORIZED');
    }
    assert.equal((await h.admin('GET', '/admin/registry', 'wrong')).status, 401);
  });

  it('POST /admin/refresh-registry picks up a feast apply before it returns', async () => {
    const same = await h.admin('POST', '/admin/refresh-registry');
    assert.equal(same.status, 200, same.text);
    assert.equal(same.json.changed, false);

    await reg.apply(definition(project, { trips: true }));
    // Nothing else refreshes in this setup, so the old registry is still served.
    assert.equal((await h.post(body(['driver_stats:trips']))).status, 404);
    const r = await h.admin('POST', '/admin/refresh-registry');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.changed, true);
    assert.ok(r.json.generation > same.json.generation);
    assert.equal((await h.post(body(['driver_stats:trips']))).text, TRIPS);

    const forced = await h.admin('POST', '/admin/refresh-registry?force=1');
    assert.equal(forced.json.changed, true);
  });

  it('concurrent admin calls all succeed, each answered after a refresh that started after it arrived', async () => {
    // How many loads they share depends on arrival timing; registry-refresh.test.ts pins the
    // coalescing itself deterministically.
    const before = h.server.registry.current().generation;
    const results = await Promise.all(Array.from({ length: 10 }, () => h.admin('POST', '/admin/refresh-registry?force=1')));
    assert.ok(results.every((r) => r.status === 200 && r.json.changed === true && r.json.generation > before), results.map((r) => r.text).join('\n'));
  });

  it('GET /admin/registry is the dump; GET /metrics is Prometheus text; others are 404/405', async () => {
    const d = await h.admin('GET', '/admin/registry');
    assert.equal(d.status, 200);
    assert.equal(d.json.project, project);
    assert.deepEqual(d.json.featureViews.map((v: any) => v.name), ['driver_stats']);
    const m = await h.admin('GET', '/metrics', null);
    assert.match(m.text, /^# TYPE registry_refresh_failures_total counter$/m);
    assert.match(m.text, /^registry_refresh_failures_total 0$/m);
    assert.match(m.text, /^registry_loaded 1$/m);
    // Feature requests over HTTP (earlier tests posted some) are counted, by outcome.
    assert.match(m.text, /^# TYPE platter_request_duration_seconds histogram$/m);
    assert.match(m.text, /^platter_request_duration_seconds_count\{transport="http",outcome="ok"\} [1-9]\d*$/m);
    assert.equal((await h.admin('GET', '/admin/refresh-registry')).status, 405);
    assert.equal((await h.admin('GET', '/nope')).status, 404);
  });

  it('takes the admin port and token from feature_store.yaml; an unset ${VAR} token is no token', async () => {
    const env = { ...process.env };
    delete env.PLATTER_ADMIN_TOKEN;
    const yamlDir = writeRepo(await sqlYaml(project, reg.feastPath, 0).then((y) => `${y}platter:\n  admin: {host: 127.0.0.1, port: 0, token: from-yaml-token}\n`));
    const unsetDir = writeRepo(await sqlYaml(project, reg.feastPath, 0).then((y) => `${y}platter:\n  admin:\n    port: 0\n    token: \${PLATTER_ADMIN_TOKEN}\n`));
    try {
      const other = await start(yamlDir, { adminPort: undefined, env });
      try {
        assert.equal((await other.admin('POST', '/admin/refresh-registry', 'from-yaml-token')).status, 200);
        assert.equal((await other.admin('POST', '/admin/refresh-registry', TOKEN)).status, 401);
      } finally {
        await other.server.close();
      }
      await assert.rejects(start(unsetDir, { adminPort: undefined, env }), (err: any) => err.code === 'CONFIG_INVALID' && /needs a bearer token/.test(err.message));
    } finally {
      rmSync(yamlDir, { recursive: true, force: true });
      rmSync(unsetDir, { recursive: true, force: true });
    }
  });

  it('platter serve refuses an admin port without a token, and says how to set one', async () => {
    const env = { ...process.env };
    delete env.PLATTER_ADMIN_TOKEN;
    await assert.rejects(
      serve({ repo, host: '127.0.0.1', port: 0, grpcPort: null, adminPort: 0, logger, env }),
      (err: any) => err.code === 'CONFIG_INVALID' && /needs a bearer token/.test(err.message) && /PLATTER_ADMIN_TOKEN/.test(err.message),
    );
  });
});

describe('SQL registry source: Feast URL forms, read_path, layout', () => {
  const project = uniqueProject('sqlforms');
  let reg: FeastSqlRegistry;
  let empty: FeastSqlRegistry;
  const repos: string[] = [];

  before(async () => {
    reg = await createFeastSqlRegistry('forms');
    await reg.apply(definition(project, { trips: true, extra: true, service: true }));
    empty = await createFeastSqlRegistry('empty', { tables: false });
  });

  after(async () => {
    await reg?.drop();
    await empty?.drop();
    for (const r of repos) rmSync(r, { recursive: true, force: true });
  });

  const sqlConfig = async (path: string, extra: string[] = []): Promise<SqlRegistryConfig> => {
    const dir = writeRepo(await sqlYaml(project, path, 0, extra));
    repos.push(dir);
    const cfg = loadRepoConfig(dir).registry;
    assert.equal(cfg.registryType, 'sql');
    return cfg as SqlRegistryConfig;
  };

  it('maps user, password, host, port, database, options and sslmode to pg settings', () => {
    const t = pgTarget(parseSqlUrl('postgresql+psycopg2://feast%40corp:p%40ss@db.internal:5433/feast_reg?sslmode=require&options=-csearch_path%3Dreg&application_name=app'));
    assert.deepEqual(t.base, { host: 'db.internal', port: 5433, user: 'feast@corp', password: 'p@ss', database: 'feast_reg', options: '-csearch_path=reg', application_name: 'app' });
    assert.equal(t.sslmode, 'require');
    assert.deepEqual(sslFor(t, 'tls'), { rejectUnauthorized: false });
    assert.equal(t.description, 'postgresql+psycopg2://feast@corp@db.internal:5433/feast_reg');
    assert.ok(!t.description.includes('p@ss'));
    const full = pgTarget(parseSqlUrl('postgresql://u@h/db?sslmode=verify-full'));
    assert.deepEqual(sslFor(full, 'tls'), { rejectUnauthorized: true });
    assert.equal(pgTarget(parseSqlUrl('postgresql://u@h/db?sslmode=disable')).sslmode, 'disable');
    assert.throws(() => pgTarget(parseSqlUrl('postgresql://u@h/db?sslmode=sometimes')), /sslmode=sometimes; expected one of disable, allow, prefer, require, verify-ca, verify-full/);
    assert.throws(() => pgTarget(parseSqlUrl('mysql+pymysql://u@h/db')), (e: any) => e.code === 'CONFIG_UNSUPPORTED');
  });

  for (const [scheme, sslmode] of [
    ['postgresql', 'prefer'],
    ['postgresql+psycopg', 'disable'],
    ['postgresql+psycopg2', 'allow'],
  ] as const) {
    it(`loads through ${scheme}:// with sslmode=${sslmode}`, async () => {
      const source = new SqlRegistrySource(await sqlConfig(feastPathFor(reg.schema, { sslmode }, scheme)));
      try {
        const index = buildRegistryIndex((await source.load()).registry, project);
        assert.deepEqual([...index.views.keys()].sort(), ['driver_extra', 'driver_stats']);
      } finally {
        await source.close();
      }
    });
  }

  it('reads from read_path when set (path is unreachable here)', async () => {
    const source = new SqlRegistrySource(
      await sqlConfig('postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1', [`  read_path: "${reg.feastPath}"`]),
    );
    try {
      assert.match(source.description, /read_path/);
      assert.match(await source.changeToken(), /^projects:1:/);
      assert.equal(buildRegistryIndex((await source.load()).registry, project).views.size, 2);
    } finally {
      await source.close();
    }
  });

  it('re-assembles the same registry Feast would: the index equals the file registry of the same definition', async () => {
    const source = new SqlRegistrySource(await sqlConfig(reg.feastPath));
    try {
      const loaded = await source.load();
      const fromSql = dumpIndex(buildRegistryIndex(loaded.registry, project), 'x');
      const def = definition(project, { trips: true, extra: true, service: true });
      const fromFile = dumpIndex(buildRegistryIndex(decodeRegistry(encodeRegistry(def), 'file'), project), 'x');
      assert.deepEqual({ ...fromSql, loadedAt: '', lastUpdated: '' }, { ...fromFile, loadedAt: '', lastUpdated: '' });
      // project stamped from project_id; data sources listed; the token names every table
      assert.ok(loaded.registry.feature_views.every((v: any) => v.spec.project === project));
      assert.deepEqual(loaded.registry.data_sources.map((d: any) => d.name).sort(), ['driver_extra_source', 'driver_push', 'driver_stats_source']);
      assert.match(loaded.token ?? '', /^projects:1:\d+:\d+;entities:1:/);
    } finally {
      await source.close();
    }
  });

  it('the change token moves on an update within the same second, and on a delete', async () => {
    const source = new SqlRegistrySource(await sqlConfig(reg.feastPath));
    try {
      const t1 = await source.changeToken();
      assert.equal(await source.changeToken(), t1);
      // Same last_updated_timestamp, same row count: only the row version (xmin) changes.
      await reg.client.query('UPDATE feature_views SET last_updated_timestamp = last_updated_timestamp WHERE feature_view_name = $1', ['driver_extra']);
      const t2 = await source.changeToken();
      assert.notEqual(t2, t1);
      await reg.deleteObject(project, 'feature_views', 'driver_extra');
      const t3 = await source.changeToken();
      assert.notEqual(t3, t2);
      assert.match(t3, /;feature_views:1:/);
    } finally {
      await source.close();
    }
  });

  it('a database without Feast tables is REGISTRY_UNAVAILABLE and says what to do', async () => {
    const source = new SqlRegistrySource(await sqlConfig(empty.feastPath));
    try {
      await assert.rejects(source.load(), (e: any) => e.code === 'REGISTRY_UNAVAILABLE' && /no Feast registry tables .*run `feast apply`/.test(e.message));
    } finally {
      await source.close();
    }
  });

  it('platter registry dump prints the resolved registry as JSON and as a table', async () => {
    const dir = writeRepo(await sqlYaml(project, reg.feastPath, 0));
    repos.push(dir);
    const json = JSON.parse(await registryCommand('dump', { repo: dir, format: 'json', logger }));
    assert.equal(json.project, project);
    assert.ok(json.projects.includes(project));
    assert.deepEqual(json.entities, [{ name: 'driver', joinKey: 'driver_id', valueType: 'INT64' }]);
    const stats = json.featureViews.find((v: any) => v.name === 'driver_stats');
    assert.deepEqual(stats.features, [
      { name: 'conv_rate', valueType: 'DOUBLE' },
      { name: 'trips', valueType: 'INT64' },
    ]);
    assert.deepEqual(stats.joinKeys, [{ name: 'driver_id', valueType: 'INT64' }]);
    assert.equal(stats.streamSource, 'driver_push');
    assert.deepEqual(json.featureServices, [
      { name: 'svc', projections: [{ view: 'driver_stats', nameToUse: 'ds', features: ['conv_rate'], joinKeyMap: {} }], logging: null },
    ]);
    const table = await registryCommand('dump', { repo: dir, logger });
    assert.match(table, /^FEATURE VIEWS \(1\)$/m); // driver_extra was deleted above
    assert.match(table, /^ {2}driver_stats {2}\[feature_view, online, ttl none\]$/m);
    assert.match(table, /^ {4}conv_rate +DOUBLE$/m);
    assert.match(table, /^ {4}driver_stats as ds: conv_rate$/m);
  });
});
