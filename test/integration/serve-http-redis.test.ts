/**
 * `platter serve` over a real HTTP socket against a real Redis seeded in Feast's exact layout
 * (test/helpers/feast-redis.ts), in entity key serialization versions 2 and 3. Bodies are
 * compared as exact text: values as Feast's Python server prints them (feast-compat.md §6.2),
 * statuses by DESIGN.md §8, errors as FeastError details (§6.7, src/errors.ts).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { ValueType } from '../../src/encoding/value-type.js';
import { renderPrometheus } from '../../src/ops/metrics.js';
import type { RepoDefinition } from '../../src/registry/definition.js';
import { seedFeastRedis } from '../helpers/feast-redis.js';
import {
  EPOCH,
  entityColumn,
  errorDetail,
  featureColumn,
  isoSeconds,
  responseText,
} from '../helpers/feast-json.js';
import { makeRepo, redisYaml, type TempRepo } from '../helpers/repo.js';
import { dropProject, redisClient, redisTarget, uniqueProject } from '../helpers/services.js';
import { startServe, type TestServer } from '../helpers/start-serve.js';

const TS_2024 = 1704067200; // 2024-01-01T00:00:00Z
const T0 = '2024-01-01T00:00:00Z';

const STATS_FEATURES = [
  ['f_int32', 'INT32'],
  ['f_int64', 'INT64'],
  ['f_float', 'FLOAT'],
  ['f_double', 'DOUBLE'],
  ['f_string', 'STRING'],
  ['f_bytes', 'BYTES'],
  ['f_bool', 'BOOL'],
  ['f_ts', 'UNIX_TIMESTAMP'],
  ['f_int32_list', 'INT32_LIST'],
  ['f_int64_list', 'INT64_LIST'],
  ['f_float_list', 'FLOAT_LIST'],
  ['f_double_list', 'DOUBLE_LIST'],
  ['f_string_list', 'STRING_LIST'],
  ['f_bytes_list', 'BYTES_LIST'],
  ['f_bool_list', 'BOOL_LIST'],
  ['f_ts_list', 'UNIX_TIMESTAMP_LIST'],
] as const;

function definition(project: string): RepoDefinition {
  return {
    project,
    entities: [
      { name: 'driver', joinKey: 'driver_id', valueType: 'INT64' },
      { name: 'store', joinKey: 'store_id', valueType: 'INT32' },
      { name: 'customer', joinKey: 'customer_id', valueType: 'STRING' },
    ],
    featureViews: [
      { name: 'driver_stats', entities: ['driver'], features: STATS_FEATURES.map(([name, valueType]) => ({ name, valueType })) },
      {
        name: 'driver_extra',
        entities: ['driver'],
        features: [
          { name: 'rating', valueType: 'DOUBLE' },
          { name: 'trips', valueType: 'INT64' },
        ],
      },
      {
        name: 'store_stats',
        entities: ['store'],
        features: [
          { name: 'revenue', valueType: 'DOUBLE' },
          { name: 'open', valueType: 'BOOL' },
        ],
      },
      { name: 'cust_store', entities: ['customer', 'store'], features: [{ name: 'visits', valueType: 'INT64' }] },
      { name: 'ttl_view', entities: ['driver'], ttlSeconds: 3600, features: [{ name: 'rating', valueType: 'DOUBLE' }] },
      { name: 'global_stats', entities: [], features: [{ name: 'total', valueType: 'INT64' }] },
      { name: 'offline_view', entities: ['driver'], online: false, features: [{ name: 'x', valueType: 'INT64' }] },
      { name: 'driver_hourly_stats', entities: ['driver'], features: [{ name: 'conv_rate', valueType: 'FLOAT' }] },
    ],
    featureServices: [
      { name: 'svc_alias', projections: [{ view: 'driver_stats', alias: 'ds', features: ['f_int64', 'f_string'] }] },
      { name: 'svc_join_map', projections: [{ view: 'driver_extra', features: ['rating'], joinKeyMap: { driver_id: 'other_driver_id' } }] },
      {
        name: 'svc_two_views',
        projections: [
          { view: 'driver_stats', features: ['f_double'] },
          { view: 'driver_extra', features: ['trips'] },
        ],
      },
    ],
  };
}

/** Idle keep-alive sockets would hold the test process open after the server closes. */
const NO_KEEPALIVE = { headers: { connection: 'close' } };

const PLATTER_LIMITS = ['platter:', '  max_entity_rows: 5', '  max_request_bytes: 4096'].join('\n');

const drv = (id: number | bigint) => ({ driver_id: { type: 4 as const, value: id } });

/** Seeds every scenario's data for one project in Feast's layout with the given key version. */
async function seed(client: Redis, project: string, version: 2 | 3, nowSeconds: number): Promise<void> {
  const V = (t: keyof typeof ValueType, v: unknown) => encodeValue(ValueType[t], v);
  const full: Record<string, Buffer> = {
    f_int32: V('INT32', -7),
    f_int64: V('INT64', 9007199254740993n), // 2^53 + 1
    f_float: V('FLOAT', 0.1),
    f_double: V('DOUBLE', 1.0),
    f_string: V('STRING', 'héllo "q"'),
    f_bytes: V('BYTES', Uint8Array.from([0, 1, 2, 255])),
    f_bool: V('BOOL', false),
    f_ts: V('UNIX_TIMESTAMP', TS_2024),
    f_int32_list: V('INT32_LIST', [1, -2, 2147483647]),
    f_int64_list: V('INT64_LIST', [9223372036854775807n, -1n]),
    f_float_list: V('FLOAT_LIST', [0.5, 0.1]),
    f_double_list: V('DOUBLE_LIST', [1.0, 2.5, 1e-7, 1e16]),
    f_string_list: V('STRING_LIST', ['a', 'b']),
    f_bytes_list: V('BYTES_LIST', [Uint8Array.from([104, 105])]),
    f_bool_list: V('BOOL_LIST', [true, false]),
    f_ts_list: V('UNIX_TIMESTAMP_LIST', [0, TS_2024]),
  };
  await seedFeastRedis(
    client,
    project,
    'driver_stats',
    [
      { entity: drv(1001), ts: { seconds: TS_2024 }, values: full },
      {
        entity: drv(1002),
        ts: { seconds: TS_2024, nanos: 123456000 },
        values: {
          f_int32: Buffer.alloc(0), // Feast's None: an empty Value
          f_int64: Buffer.from('980100', 'hex'), // null_val: NULL
          f_string: V('STRING', ''),
          f_int64_list: V('INT64_LIST', []),
        },
      },
      // values without `_ts:driver_stats`: the view was never written for this entity
      { entity: drv(1004), ts: null, values: { f_int32: V('INT32', 5), f_int64: V('INT64', 5) } },
      { entity: drv(9223372036854775807n), ts: { seconds: TS_2024 }, values: { f_int64: V('INT64', -9223372036854775808n) } },
    ],
    version,
  );
  await seedFeastRedis(
    client,
    project,
    'driver_extra',
    [
      { entity: drv(1001), ts: { seconds: TS_2024, nanos: 500000000 }, values: { rating: V('DOUBLE', 4.5), trips: V('INT64', 12) } },
      { entity: drv(1002), ts: { seconds: TS_2024, nanos: 123456789 }, values: { rating: V('DOUBLE', 3.25), trips: V('INT64', 13) } },
    ],
    version,
  );
  await seedFeastRedis(
    client,
    project,
    'store_stats',
    [{ entity: { store_id: { type: 3, value: 7 } }, ts: { seconds: TS_2024 }, values: { revenue: V('DOUBLE', 12.5), open: V('BOOL', true) } }],
    version,
  );
  await seedFeastRedis(
    client,
    project,
    'cust_store',
    [
      {
        entity: { customer_id: { type: 2, value: 'C123' }, store_id: { type: 3, value: 7 } },
        ts: { seconds: TS_2024 },
        values: { visits: V('INT64', 3) },
      },
    ],
    version,
  );
  await seedFeastRedis(
    client,
    project,
    'ttl_view',
    [
      { entity: drv(1001), ts: { seconds: nowSeconds - 7200 }, values: { rating: V('DOUBLE', 0.75) } },
      { entity: drv(1002), ts: { seconds: nowSeconds - 60 }, values: { rating: V('DOUBLE', 0.25) } },
    ],
    version,
  );
  await seedFeastRedis(
    client,
    project,
    'global_stats',
    [{ entity: { __dummy_id: { type: 2, value: '' } }, ts: { seconds: TS_2024 }, values: { total: V('INT64', 42) } }],
    version,
  );

  // Hand-written bytes from feast-compat.md §1.6 (E1) and §2.2, independent of our encoders:
  // key = serialized {driver_id: 1001} ++ project; field 6160e3da = mmh3("driver_hourly_stats:conv_rate").
  const keyHex =
    version === 3
      ? '0100000002000000090000006472697665725f69640400000008000000e903000000000000'
      : '020000006472697665725f69640400000008000000e903000000000000';
  await client.hset(
    Buffer.concat([Buffer.from(keyHex, 'hex'), Buffer.from(project, 'utf8')]),
    Buffer.from('6160e3da', 'hex'),
    Buffer.from('350000003f', 'hex'), // float_val: 0.5
    Buffer.from('_ts:driver_hourly_stats', 'utf8'),
    Buffer.from('088081c8ac06', 'hex'), // Timestamp 2024-01-01T00:00:00Z
  );
}

const ALL_STATS = STATS_FEATURES.map(([f]) => `driver_stats:${f}`);

/** The values Feast's Python server prints for driver 1001's driver_stats row (§6.2). */
const STATS_1001_JSON: Record<string, string> = {
  f_int32: '-7',
  f_int64: '9007199254740993',
  f_float: '0.10000000149011612', // float32 0.1 widened to double, Python repr
  f_double: '1.0',
  f_string: '"héllo \\"q\\""',
  f_bytes: '"AAEC/w=="',
  f_bool: 'false',
  f_ts: '1704067200',
  f_int32_list: '[1,-2,2147483647]',
  f_int64_list: '[9223372036854775807,-1]',
  f_float_list: '[0.5,0.10000000149011612]',
  f_double_list: '[1.0,2.5,1e-07,1e+16]',
  f_string_list: '["a","b"]',
  f_bytes_list: '["aGk="]',
  f_bool_list: '[true,false]',
  f_ts_list: '[0,1704067200]',
};

async function expectOk(server: TestServer, body: unknown, expected: string): Promise<void> {
  const res = await server.post('/get-online-features', body);
  assert.equal(res.status, 200, `HTTP ${res.status}: ${res.text}`);
  assert.equal(res.text, expected);
}

for (const version of [3, 2] as const) {
  describe(`HTTP /get-online-features over Redis, entity key v${version}`, () => {
    const project = uniqueProject(`http_v${version}`);
    let client: Redis;
    let repo: TempRepo;
    let server: TestServer;
    let nowSeconds = 0;

    before(async () => {
      const t = await redisTarget();
      client = await redisClient();
      nowSeconds = Math.floor(Date.now() / 1000);
      await seed(client, project, version, nowSeconds);
      repo = makeRepo(definition(project), redisYaml(project, t.host, t.port, version, PLATTER_LIMITS));
      server = await startServe(repo.dir);
    });

    after(async () => {
      await server?.close();
      if (client) {
        await dropProject(client, project);
        await client.quit();
      }
      repo?.remove();
    });

    it('serves every scalar and list type as Feast prints it; absent entity and missing _ts are NOT_FOUND', async () => {
      const names = STATS_FEATURES.map(([f]) => f);
      await expectOk(
        server,
        { features: ALL_STATS, entities: { driver_id: [1001, 1003, 1004] } },
        responseText(
          ['driver_id', ...names],
          [
            entityColumn(['1001', '1003', '1004']),
            ...names.map((f) =>
              featureColumn([STATS_1001_JSON[f]!, 'null', 'null'], ['PRESENT', 'NOT_FOUND', 'NOT_FOUND'], [T0, EPOCH, EPOCH]),
            ),
          ],
        ),
      );
    });

    it('empty Value and null_val are NULL_VALUE with the view timestamp; empty string/list are PRESENT; unwritten field is NOT_FOUND', async () => {
      const ts = '2024-01-01T00:00:00.123456Z';
      await expectOk(
        server,
        {
          features: ['driver_stats:f_int32', 'driver_stats:f_int64', 'driver_stats:f_string', 'driver_stats:f_int64_list', 'driver_stats:f_bool'],
          entities: { driver_id: [1002] },
        },
        responseText(
          ['driver_id', 'f_int32', 'f_int64', 'f_string', 'f_int64_list', 'f_bool'],
          [
            entityColumn(['1002']),
            featureColumn(['null'], 'NULL_VALUE', ts),
            featureColumn(['null'], 'NULL_VALUE', ts),
            featureColumn(['""'], 'PRESENT', ts),
            featureColumn(['[]'], 'PRESENT', ts),
            featureColumn(['null'], 'NOT_FOUND', EPOCH),
          ],
        ),
      );
    });

    it('int64 entity 2^63-1 as a JSON number and as a string reads the right key; duplicate rows get the same answer', async () => {
      const body =
        '{"features":["driver_stats:f_int64","driver_stats:f_int32"],' +
        '"entities":{"driver_id":[9223372036854775807,"9223372036854775807",1001,1001]}}';
      await expectOk(
        server,
        body,
        responseText(
          ['driver_id', 'f_int64', 'f_int32'],
          [
            entityColumn(['9223372036854775807', '9223372036854775807', '1001', '1001']),
            featureColumn(['-9223372036854775808', '-9223372036854775808', '9007199254740993', '9007199254740993'], 'PRESENT', T0),
            featureColumn(['null', 'null', '-7', '-7'], ['NOT_FOUND', 'NOT_FOUND', 'PRESENT', 'PRESENT'], [EPOCH, EPOCH, T0, T0]),
          ],
        ),
      );
    });

    it('event timestamps with nanos print 3 or 9 fraction digits', async () => {
      await expectOk(
        server,
        { features: ['driver_extra:rating', 'driver_extra:trips'], entities: { driver_id: [1001, 1002] } },
        responseText(
          ['driver_id', 'rating', 'trips'],
          [
            entityColumn(['1001', '1002']),
            featureColumn(['4.5', '3.25'], 'PRESENT', ['2024-01-01T00:00:00.500Z', '2024-01-01T00:00:00.123456789Z']),
            featureColumn(['12', '13'], 'PRESENT', ['2024-01-01T00:00:00.500Z', '2024-01-01T00:00:00.123456789Z']),
          ],
        ),
      );
    });

    it('reads a row written with hand-made Feast bytes (key, murmur3 field, _ts, float_val)', async () => {
      await expectOk(
        server,
        { features: ['driver_hourly_stats:conv_rate'], entities: { driver_id: [1001] } },
        responseText(['driver_id', 'conv_rate'], [entityColumn(['1001']), featureColumn(['0.5'], 'PRESENT', T0)]),
      );
    });

    it('orders columns: join keys in request order, then features grouped per view; extra columns ignored', async () => {
      await expectOk(
        server,
        {
          features: ['driver_stats:f_int32', 'store_stats:revenue', 'driver_extra:rating', 'driver_stats:f_double'],
          entities: { store_id: [7], ignored_col: ['x'], driver_id: [1001] },
          full_feature_names: false,
          unknown_top_level_key: 1,
        },
        responseText(
          ['store_id', 'driver_id', 'f_int32', 'f_double', 'revenue', 'rating'],
          [
            entityColumn(['7']),
            entityColumn(['1001']),
            featureColumn(['-7'], 'PRESENT', T0),
            featureColumn(['1.0'], 'PRESENT', T0),
            featureColumn(['12.5'], 'PRESENT', T0),
            featureColumn(['4.5'], 'PRESENT', '2024-01-01T00:00:00.500Z'),
          ],
        ),
      );
    });

    it('INT32 entity key (registry type decides the encoding)', async () => {
      await expectOk(
        server,
        { features: ['store_stats:revenue', 'store_stats:open'], entities: { store_id: [7, 8, '7'] } },
        responseText(
          ['store_id', 'revenue', 'open'],
          [
            entityColumn(['7', '8', '7']),
            featureColumn(['12.5', 'null', '12.5'], ['PRESENT', 'NOT_FOUND', 'PRESENT'], [T0, EPOCH, T0]),
            featureColumn(['true', 'null', 'true'], ['PRESENT', 'NOT_FOUND', 'PRESENT'], [T0, EPOCH, T0]),
          ],
        ),
      );
    });

    it('compound key (STRING + INT32) with the join keys in either order', async () => {
      const visits = featureColumn(['3', 'null'], ['PRESENT', 'NOT_FOUND'], [T0, EPOCH]);
      await expectOk(
        server,
        { features: ['cust_store:visits'], entities: { customer_id: ['C123', 'C999'], store_id: [7, 7] } },
        responseText(['customer_id', 'store_id', 'visits'], [entityColumn(['"C123"', '"C999"']), entityColumn(['7', '7']), visits]),
      );
      await expectOk(
        server,
        { features: ['cust_store:visits'], entities: { store_id: [7, 7], customer_id: ['C123', 'C999'] } },
        responseText(['store_id', 'customer_id', 'visits'], [entityColumn(['7', '7']), entityColumn(['"C123"', '"C999"']), visits]),
      );
    });

    it('view TTL: an event older than the ttl is OUTSIDE_MAX_AGE with its value still returned', async () => {
      await expectOk(
        server,
        { features: ['ttl_view:rating'], entities: { driver_id: [1001, 1002, 1003] } },
        responseText(
          ['driver_id', 'rating'],
          [
            entityColumn(['1001', '1002', '1003']),
            featureColumn(
              ['0.75', '0.25', 'null'],
              ['OUTSIDE_MAX_AGE', 'PRESENT', 'NOT_FOUND'],
              [isoSeconds(nowSeconds - 7200), isoSeconds(nowSeconds - 60), EPOCH],
            ),
          ],
        ),
      );
    });

    it('entity-less view: alone (one row) and next to a keyed view (repeated per row)', async () => {
      await expectOk(
        server,
        { features: ['global_stats:total'], entities: {} },
        responseText(['total'], [featureColumn(['42'], 'PRESENT', T0)]),
      );
      await expectOk(
        server,
        { features: ['global_stats:total', 'driver_extra:trips'], entities: { driver_id: [1001, 1002] } },
        responseText(
          ['driver_id', 'total', 'trips'],
          [
            entityColumn(['1001', '1002']),
            featureColumn(['42', '42'], 'PRESENT', T0),
            featureColumn(['12', '13'], 'PRESENT', ['2024-01-01T00:00:00.500Z', '2024-01-01T00:00:00.123456789Z']),
          ],
        ),
      );
    });

    it('full_feature_names: view name with features, alias with a feature service', async () => {
      await expectOk(
        server,
        { features: ['driver_stats:f_int32', 'driver_extra:rating'], entities: { driver_id: [1001] }, full_feature_names: true },
        responseText(
          ['driver_id', 'driver_stats__f_int32', 'driver_extra__rating'],
          [entityColumn(['1001']), featureColumn(['-7'], 'PRESENT', T0), featureColumn(['4.5'], 'PRESENT', '2024-01-01T00:00:00.500Z')],
        ),
      );
      await expectOk(
        server,
        { feature_service: 'svc_alias', entities: { driver_id: [1001] }, full_feature_names: true },
        responseText(
          ['driver_id', 'ds__f_int64', 'ds__f_string'],
          [entityColumn(['1001']), featureColumn(['9007199254740993'], 'PRESENT', T0), featureColumn(['"héllo \\"q\\""'], 'PRESENT', T0)],
        ),
      );
      // without full names the alias does not show
      await expectOk(
        server,
        { feature_service: 'svc_alias', entities: { driver_id: [1001] } },
        responseText(
          ['driver_id', 'f_int64', 'f_string'],
          [entityColumn(['1001']), featureColumn(['9007199254740993'], 'PRESENT', T0), featureColumn(['"héllo \\"q\\""'], 'PRESENT', T0)],
        ),
      );
    });

    it('feature service wins over features (as Feast)', async () => {
      await expectOk(
        server,
        { feature_service: 'svc_two_views', features: ['store_stats:revenue'], entities: { driver_id: [1001] } },
        responseText(
          ['driver_id', 'f_double', 'trips'],
          [entityColumn(['1001']), featureColumn(['1.0'], 'PRESENT', T0), featureColumn(['12'], 'PRESENT', '2024-01-01T00:00:00.500Z')],
        ),
      );
    });

    it("feature service with join_key_map reads the view's key from the mapped column", async () => {
      await expectOk(
        server,
        { feature_service: 'svc_join_map', entities: { other_driver_id: [1002, 1001] } },
        responseText(
          ['other_driver_id', 'rating'],
          [
            entityColumn(['1002', '1001']),
            featureColumn(['3.25', '4.5'], 'PRESENT', ['2024-01-01T00:00:00.123456789Z', '2024-01-01T00:00:00.500Z']),
          ],
        ),
      );
    });

    it('entity name in place of the join key is accepted and answered under the join key (as Feast)', async () => {
      // Feast utils.py `_prepare_entities_to_read_from_online_store`: an entity name is mapped to
      // its join key, and `join_key_values[join_key]` names the result column.
      await expectOk(
        server,
        { features: ['driver_extra:trips'], entities: { driver: [1001] } },
        responseText(['driver_id', 'trips'], [entityColumn(['1001']), featureColumn(['12'], 'PRESENT', '2024-01-01T00:00:00.500Z')]),
      );
    });
  });
}

describe('HTTP errors, limits and routes (entity key v3)', () => {
  const project = uniqueProject('http_err');
  let client: Redis;
  let repo: TempRepo;
  let server: TestServer;

  before(async () => {
    const t = await redisTarget();
    client = await redisClient();
    await seed(client, project, 3, Math.floor(Date.now() / 1000));
    repo = makeRepo(definition(project), redisYaml(project, t.host, t.port, 3, PLATTER_LIMITS));
    server = await startServe(repo.dir);
  });

  after(async () => {
    await server?.close();
    if (client) {
      await dropProject(client, project);
      await client.quit();
    }
    repo?.remove();
  });

  const post = (body: unknown) => server.post('/get-online-features', body);

  it('unknown feature view: 404 FeatureViewNotFoundException naming the view', async () => {
    const res = await post({ features: ['no_such_view:x'], entities: { driver_id: [1] } });
    assert.equal(res.status, 404, res.text);
    const d = errorDetail(res);
    assert.equal(d.module, 'feast.errors');
    assert.equal(d.class, 'FeatureViewNotFoundException');
    assert.equal(d.code, 'FEATURE_VIEW_NOT_FOUND');
    assert.match(d.message, /'no_such_view'/);
  });

  it('unknown feature: 404 naming the feature and its view', async () => {
    const res = await post({ features: ['driver_stats:nope'], entities: { driver_id: [1] } });
    assert.equal(res.status, 404, res.text);
    const d = errorDetail(res);
    assert.equal(d.code, 'FEATURE_NOT_FOUND');
    assert.match(d.message, /'nope'/);
    assert.match(d.message, /'driver_stats'/);
  });

  it('unknown feature service: 404 FeatureServiceNotFoundException', async () => {
    const res = await post({ feature_service: 'no_such_service', entities: { driver_id: [1] } });
    assert.equal(res.status, 404, res.text);
    const d = errorDetail(res);
    assert.equal(d.class, 'FeatureServiceNotFoundException');
    assert.equal(d.code, 'FEATURE_SERVICE_NOT_FOUND');
    assert.match(d.message, /'no_such_service'/);
  });

  it('view registered online=False: 422 naming the view', async () => {
    const res = await post({ features: ['offline_view:x'], entities: { driver_id: [1] } });
    assert.equal(res.status, 422, res.text);
    const d = errorDetail(res);
    assert.equal(d.code, 'FEATURE_VIEW_NOT_ONLINE');
    assert.match(d.message, /'offline_view'/);
  });

  it('missing join key: 4xx naming the key (also the mapped column of a join_key_map)', async () => {
    let res = await post({ features: ['store_stats:revenue'], entities: { driver_id: [1] } });
    assert.equal(res.status, 422, res.text);
    let d = errorDetail(res);
    assert.equal(d.code, 'ENTITY_KEY_MISSING');
    assert.equal(d.class, 'EntityNotFoundException');
    assert.match(d.message, /'store_id'/);

    res = await post({ features: ['cust_store:visits'], entities: { store_id: [7] } });
    assert.equal(res.status, 422, res.text);
    assert.match(errorDetail(res).message, /'customer_id'/);

    res = await post({ feature_service: 'svc_join_map', entities: { driver_id: [1001] } });
    assert.equal(res.status, 422, res.text);
    assert.match(errorDetail(res).message, /'other_driver_id'/);
  });

  it('entity columns of different lengths: 4xx naming both columns', async () => {
    const res = await post({ features: ['cust_store:visits'], entities: { customer_id: ['a', 'b'], store_id: [7] } });
    assert.equal(res.status, 422, res.text);
    const d = errorDetail(res);
    assert.equal(d.code, 'ENTITY_COLUMNS_MISMATCH');
    assert.match(d.message, /customer_id/);
    assert.match(d.message, /store_id/);
  });

  it('a value that does not fit the join key type: 422 naming the column', async () => {
    for (const [body, column] of [
      [{ features: ['driver_extra:rating'], entities: { driver_id: ['abc'] } }, 'driver_id'],
      [{ features: ['driver_extra:rating'], entities: { driver_id: [1.5] } }, 'driver_id'],
      ['{"features":["driver_extra:rating"],"entities":{"driver_id":[9223372036854775808]}}', 'driver_id'],
      [{ features: ['store_stats:revenue'], entities: { store_id: [2 ** 40] } }, 'store_id'],
      [{ features: ['cust_store:visits'], entities: { customer_id: [123], store_id: [7] } }, 'customer_id'],
    ] as const) {
      const res = await post(body);
      assert.equal(res.status, 422, `${JSON.stringify(body)} -> ${res.status} ${res.text}`);
      const d = errorDetail(res);
      assert.equal(d.code, 'ENTITY_VALUE_INVALID', res.text);
      assert.match(d.message, new RegExp(`'${column}'`), res.text);
    }
  });

  it('empty body, {}, and no features: 400', async () => {
    for (const body of ['', '{}', { entities: { driver_id: [1] } }, { features: [], entities: { driver_id: [1] } }]) {
      const res = await post(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} -> ${res.status} ${res.text}`);
      const d = errorDetail(res);
      assert.equal(d.class, 'FeastError');
      assert.ok(['EMPTY_REQUEST', 'INVALID_ARGUMENT'].includes(d.code), d.code);
    }
  });

  it('no entity rows: 400', async () => {
    const res = await post({ features: ['driver_extra:rating'], entities: { driver_id: [] } });
    assert.equal(res.status, 400, res.text);
    assert.equal(errorDetail(res).code, 'EMPTY_REQUEST');
  });

  it('malformed JSON: 400 with the position', async () => {
    for (const [text, at] of [
      ['{"features": ["driver_extra:rating"], "entities": {"driver_id": [1,]}}', 67],
      ['{"features": [', 14],
      ['{"entities":{"driver_id":[12345678901234567890123]}, }', 53],
    ] as const) {
      const res = await post(text);
      assert.equal(res.status, 400, `${text} -> ${res.status} ${res.text}`);
      const d = errorDetail(res);
      assert.equal(d.code, 'INVALID_ARGUMENT');
      assert.match(d.message, new RegExp(`position ${at}\\b`), `${text}: ${d.message}`);
    }
  });

  it('wrongly typed request fields: 400', async () => {
    for (const body of [
      { features: 'driver_extra:rating', entities: { driver_id: [1] } },
      { features: ['driver_extra:rating'], entities: { driver_id: 1 } },
      { features: ['driver_extra:rating'], entities: [1] },
      { features: ['driver_extra:rating'], entities: { driver_id: [1] }, full_feature_names: 'yes' },
      { features: ['rating'], entities: { driver_id: [1] } },
      '[1,2]',
    ]) {
      const res = await post(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} -> ${res.status} ${res.text}`);
      errorDetail(res);
    }
  });

  it('feature name collision without full names: 422 naming the feature and both views', async () => {
    const res = await post({ features: ['driver_extra:rating', 'ttl_view:rating'], entities: { driver_id: [1001] } });
    assert.equal(res.status, 422, res.text);
    const d = errorDetail(res);
    assert.equal(d.class, 'FeatureNameCollisionError');
    assert.match(d.message, /rating/);
    assert.match(d.message, /driver_extra/);
    assert.match(d.message, /ttl_view/);
    // ...and full names resolve it
    const ok = await post({ features: ['driver_extra:rating', 'ttl_view:rating'], entities: { driver_id: [1002] }, full_feature_names: true });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json.metadata.feature_names, ['driver_id', 'driver_extra__rating', 'ttl_view__rating']);
    assert.deepEqual(ok.json.results[1].values, [3.25]);
    assert.deepEqual(ok.json.results[2].values, [0.25]);
  });

  it('too many entity rows (platter.max_entity_rows: 5): 400; 5 rows pass', async () => {
    const res = await post({ features: ['driver_extra:rating'], entities: { driver_id: [1, 2, 3, 4, 5, 6] } });
    assert.equal(res.status, 400, res.text);
    const d = errorDetail(res);
    assert.equal(d.code, 'TOO_MANY_ENTITY_ROWS');
    assert.match(d.message, /6/);
    const ok = await post({ features: ['driver_extra:rating'], entities: { driver_id: [1, 2, 3, 4, 5] } });
    assert.equal(ok.status, 200, ok.text);
  });

  it('body over platter.max_request_bytes (4096): 413', async () => {
    const body = JSON.stringify({ features: ['driver_extra:rating'], entities: { driver_id: [1001] }, pad: 'x'.repeat(6000) });
    const res = await post(body);
    assert.equal(res.status, 413, res.text);
    const d = errorDetail(res);
    assert.equal(d.code, 'PAYLOAD_TOO_LARGE');
    assert.match(d.message, /4096/);
  });

  it('routes: unknown path 404, GET on /get-online-features 405, /health 200', async () => {
    let res = await server.post('/no-such-route', {});
    assert.equal(res.status, 404, res.text);
    errorDetail(res);
    const get = await fetch(`${server.url}/get-online-features`, NO_KEEPALIVE);
    assert.equal(get.status, 405);
    errorDetail({ status: get.status, text: '', json: await get.json() });
    const health = await fetch(`${server.url}/health`, NO_KEEPALIVE);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), '');
    res = await server.post('/get-online-features/extra', {});
    assert.equal(res.status, 404, res.text);
  });

  it('each feature request is counted once in platter_request_duration_seconds, by outcome', async () => {
    const counts = async () => {
      const text = renderPrometheus(await server.adminBackend.metrics());
      const of = (outcome: string) => Number(new RegExp(`^platter_request_duration_seconds_count\\{transport="http",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      return { ok: of('ok'), client_error: of('client_error'), server_error: of('server_error'), cancelled: of('cancelled') };
    };
    const before = await counts();
    assert.equal((await post({ features: ['driver_hourly_stats:conv_rate'], entities: { driver_id: [1001] } })).status, 200);
    assert.equal((await post({ features: ['driver_hourly_stats:conv_rate'], entities: { driver_id: [1001, 1002] } })).status, 200);
    assert.equal((await post({ features: ['no_such_view:x'], entities: { driver_id: [1] } })).status, 404);
    assert.equal((await post('{"features": [')).status, 400);
    assert.equal((await post({ features: ['driver_hourly_stats:conv_rate'], entities: { driver_id: Array.from({ length: 2000 }, (_, i) => i) } })).status, 413);
    // A client that sends half its body and goes away.
    await new Promise<void>((resolve, reject) => {
      const sock = connect(Number(new URL(server.url).port), '127.0.0.1', () => {
        sock.write('POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"features"');
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 50);
      });
      sock.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 100));
    // Not counted: routes other than the feature request.
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const after = await counts();
    assert.deepEqual(
      { ok: after.ok - before.ok, client_error: after.client_error - before.client_error, server_error: after.server_error - before.server_error, cancelled: after.cancelled - before.cancelled },
      { ok: 2, client_error: 3, server_error: 0, cancelled: 1 },
    );
  });

  it('the server still answers correctly after all of the above', async () => {
    await expectOk(
      server,
      { features: ['driver_hourly_stats:conv_rate', 'driver_extra:trips'], entities: { driver_id: [1001] } },
      responseText(
        ['driver_id', 'conv_rate', 'trips'],
        [entityColumn(['1001']), featureColumn(['0.5'], 'PRESENT', T0), featureColumn(['12'], 'PRESENT', '2024-01-01T00:00:00.500Z')],
      ),
    );
  });
});

describe('registry refresh (cache_ttl_seconds: 1)', () => {
  const project = uniqueProject('http_refresh');
  let client: Redis;
  let repo: TempRepo;
  let server: TestServer;

  const def = (features: string[]): RepoDefinition => ({
    project,
    entities: [{ name: 'driver', joinKey: 'driver_id', valueType: 'INT64' }],
    featureViews: [{ name: 'v', entities: ['driver'], features: features.map((name) => ({ name, valueType: 'INT64' as const })) }],
  });

  before(async () => {
    const t = await redisTarget();
    client = await redisClient();
    await seedFeastRedis(client, project, 'v', [
      { entity: drv(1), ts: { seconds: TS_2024 }, values: { a: encodeValue(ValueType.INT64, 10), b: encodeValue(ValueType.INT64, 20) } },
    ]);
    const yaml = redisYaml(project, t.host, t.port, 3).replace('cache_ttl_seconds: 0', 'cache_ttl_seconds: 1');
    assert.match(yaml, /cache_ttl_seconds: 1/);
    repo = makeRepo(def(['a']), yaml);
    server = await startServe(repo.dir);
  });

  after(async () => {
    await server?.close();
    if (client) {
      await dropProject(client, project);
      await client.quit();
    }
    repo?.remove();
  });

  const DEADLINE_MS = 20_000;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const expectedAB = responseText(
    ['driver_id', 'a', 'b'],
    [entityColumn(['1']), featureColumn(['10'], 'PRESENT', T0), featureColumn(['20'], 'PRESENT', T0)],
  );
  const bodyAB = { features: ['v:a', 'v:b'], entities: { driver_id: [1] } };

  it('serves a feature added by a new registry once the poll picks it up', async () => {
    const first = await server.post('/get-online-features', bodyAB);
    assert.equal(first.status, 404, first.text);
    assert.equal(errorDetail(first).code, 'FEATURE_NOT_FOUND');

    repo.apply(def(['a', 'b']));
    const deadline = Date.now() + DEADLINE_MS;
    let res = first;
    while (Date.now() < deadline) {
      res = await server.post('/get-online-features', bodyAB);
      if (res.status === 200) break;
      await sleep(100);
    }
    assert.equal(res.status, 200, `new feature not served within ${DEADLINE_MS} ms: ${res.text}`);
    assert.equal(res.text, expectedAB);
  });

  it('a corrupt registry file is refused and the last good registry keeps serving', async () => {
    const failuresBefore = server.registry.stats.failures;
    // Not a protobuf: 0x74 ('t') is field 14 with wire type 4 (end group) right away.
    writeFileSync(repo.registryPath, 'this is not a registry, it is text\n');
    const deadline = Date.now() + DEADLINE_MS;
    while (server.registry.stats.failures === failuresBefore && Date.now() < deadline) await sleep(100);
    assert.ok(server.registry.stats.failures > failuresBefore, 'the corrupt registry was never read (no failed refresh)');
    assert.ok(server.registry.stats.lastError, 'lastError is recorded');

    const res = await server.post('/get-online-features', bodyAB);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, expectedAB);
    const health = await fetch(`${server.url}/health`, NO_KEEPALIVE);
    assert.equal(health.status, 200);
  });
});
