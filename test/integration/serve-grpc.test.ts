/**
 * `platter serve` over a real gRPC socket (feast.serving.ServingService, grpc.health.v1.Health),
 * with a client built at run time from our protos. Redis is seeded in Feast's layout (v3 keys).
 * Checks decoded values, statuses, timestamps and names; error codes (src/errors.ts); and that the
 * same request over HTTP and gRPC gives the same answer.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { ValueType } from '../../src/encoding/value-type.js';
import type { RepoDefinition } from '../../src/registry/definition.js';
import { seedFeastRedis } from '../helpers/feast-redis.js';
import { entityColumn, featureColumn, isoNanos, pyRepr, responseText, type Column } from '../helpers/feast-json.js';
import { servingClients, type GrpcCallError, type ServingClients } from '../helpers/grpc-client.js';
import { makeRepo, redisYaml, type TempRepo } from '../helpers/repo.js';
import { dropProject, redisClient, redisTarget, uniqueProject } from '../helpers/services.js';
import { startServe, type TestServer } from '../helpers/start-serve.js';

const TS_2024 = 1704067200;
const INT64_MAX = '9223372036854775807';

function definition(project: string): RepoDefinition {
  return {
    project,
    entities: [
      { name: 'driver', joinKey: 'driver_id', valueType: 'INT64' },
      { name: 'store', joinKey: 'store_id', valueType: 'INT32' },
      { name: 'customer', joinKey: 'customer_id', valueType: 'STRING' },
    ],
    featureViews: [
      {
        name: 'stats',
        entities: ['driver'],
        features: [
          { name: 'conv', valueType: 'FLOAT' },
          { name: 'trips', valueType: 'INT64' },
          { name: 'name', valueType: 'STRING' },
          { name: 'score', valueType: 'DOUBLE' },
          { name: 'ok', valueType: 'BOOL' },
          { name: 'blob', valueType: 'BYTES' },
          { name: 'hist', valueType: 'DOUBLE_LIST' },
        ],
      },
      { name: 'store_stats', entities: ['store'], features: [{ name: 'revenue', valueType: 'DOUBLE' }] },
      { name: 'cust', entities: ['customer'], features: [{ name: 'tier', valueType: 'STRING' }] },
      { name: 'ttl_view', entities: ['driver'], ttlSeconds: 3600, features: [{ name: 'x', valueType: 'INT64' }] },
      { name: 'offline_view', entities: ['driver'], online: false, features: [{ name: 'y', valueType: 'INT64' }] },
    ],
    featureServices: [{ name: 'svc', projections: [{ view: 'stats', alias: 's', features: ['conv', 'trips'] }] }],
  };
}

const drv = (id: number | bigint) => ({ driver_id: { type: 4 as const, value: id } });
const V = (t: keyof typeof ValueType, v: unknown) => encodeValue(ValueType[t], v);

async function seed(client: Redis, project: string, now: number): Promise<void> {
  await seedFeastRedis(client, project, 'stats', [
    {
      entity: drv(1001),
      ts: { seconds: TS_2024, nanos: 500000000 },
      values: {
        conv: V('FLOAT', 0.5),
        trips: V('INT64', 9007199254740993n),
        name: V('STRING', 'Ana'),
        score: V('DOUBLE', 4.25),
        ok: V('BOOL', true),
        blob: V('BYTES', Uint8Array.from([1, 2, 3])),
        hist: V('DOUBLE_LIST', [1.0, 2.5]),
      },
    },
    {
      entity: drv(1002),
      ts: { seconds: TS_2024 },
      values: { conv: Buffer.alloc(0), trips: Buffer.from('980100', 'hex'), name: V('STRING', ''), score: V('DOUBLE', 1.5), ok: V('BOOL', false) },
    },
    { entity: drv(BigInt(INT64_MAX)), ts: { seconds: TS_2024 }, values: { conv: V('FLOAT', 0.25), trips: V('INT64', 7) } },
  ]);
  await seedFeastRedis(client, project, 'store_stats', [
    { entity: { store_id: { type: 3, value: 7 } }, ts: { seconds: TS_2024 }, values: { revenue: V('DOUBLE', 99.5) } },
  ]);
  await seedFeastRedis(client, project, 'cust', [
    { entity: { customer_id: { type: 2, value: 'C1' } }, ts: { seconds: TS_2024 }, values: { tier: V('STRING', 'gold') } },
  ]);
  await seedFeastRedis(client, project, 'ttl_view', [
    { entity: drv(1001), ts: { seconds: now - 7200 }, values: { x: V('INT64', 1) } },
    { entity: drv(1002), ts: { seconds: now - 10 }, values: { x: V('INT64', 2) } },
  ]);
}

const int64s = (...ids: string[]) => ({ val: ids.map((id) => ({ int64_val: id })) });
/** [seconds, nanos] of a decoded google.protobuf.Timestamp (unset fields are absent). */
const ts = (t: { seconds?: string; nanos?: number }) => [Number(t.seconds ?? 0), t.nanos ?? 0];

function names(res: any): string[] {
  return res.metadata.feature_names.val;
}

describe('gRPC feast.serving.ServingService over Redis', () => {
  const project = uniqueProject('grpc');
  let client: Redis;
  let repo: TempRepo;
  let server: TestServer;
  let rpc: ServingClients;
  let now = 0;

  before(async () => {
    const t = await redisTarget();
    client = await redisClient();
    now = Math.floor(Date.now() / 1000);
    await seed(client, project, now);
    repo = makeRepo(definition(project), redisYaml(project, t.host, t.port, 3));
    server = await startServe(repo.dir);
    rpc = servingClients(server.grpcAddress);
  });

  after(async () => {
    rpc?.close();
    await server?.close();
    if (client) {
      await dropProject(client, project);
      await client.quit();
    }
    repo?.remove();
  });

  const get = (req: unknown) => rpc.serving('GetOnlineFeatures', req);

  it('GetOnlineFeatures with features: values, statuses, timestamps, names; int64 entity as string incl. 2^63-1', async () => {
    const res = await get({
      features: { val: ['stats:conv', 'stats:trips', 'stats:name', 'stats:score', 'stats:ok', 'stats:blob', 'stats:hist'] },
      entities: { driver_id: int64s('1001', INT64_MAX, '1003', '1002') },
    });
    assert.deepEqual(names(res), ['driver_id', 'conv', 'trips', 'name', 'score', 'ok', 'blob', 'hist']);
    assert.equal(res.results.length, 8);
    const [keys, conv, trips, name, score, ok, blob, hist] = res.results;

    assert.deepEqual(keys.values, [
      { int64_val: '1001', val: 'int64_val' },
      { int64_val: INT64_MAX, val: 'int64_val' },
      { int64_val: '1003', val: 'int64_val' },
      { int64_val: '1002', val: 'int64_val' },
    ]);
    assert.deepEqual(keys.statuses, ['PRESENT', 'PRESENT', 'PRESENT', 'PRESENT']);
    assert.deepEqual(keys.event_timestamps.map(ts), [[0, 0], [0, 0], [0, 0], [0, 0]]);

    const T1001 = [TS_2024, 500000000];
    const T = [TS_2024, 0];
    const E = [0, 0];
    assert.deepEqual(conv.values, [{ float_val: 0.5, val: 'float_val' }, { float_val: 0.25, val: 'float_val' }, {}, {}]);
    assert.deepEqual(conv.statuses, ['PRESENT', 'PRESENT', 'NOT_FOUND', 'NULL_VALUE']);
    assert.deepEqual(conv.event_timestamps.map(ts), [T1001, T, E, T]);

    assert.deepEqual(trips.values, [{ int64_val: '9007199254740993', val: 'int64_val' }, { int64_val: '7', val: 'int64_val' }, {}, {}]);
    assert.deepEqual(trips.statuses, ['PRESENT', 'PRESENT', 'NOT_FOUND', 'NULL_VALUE']);

    assert.deepEqual(name.values, [{ string_val: 'Ana', val: 'string_val' }, {}, {}, { string_val: '', val: 'string_val' }]);
    assert.deepEqual(name.statuses, ['PRESENT', 'NOT_FOUND', 'NOT_FOUND', 'PRESENT']);
    assert.deepEqual(name.event_timestamps.map(ts), [T1001, E, E, T]);

    assert.deepEqual(score.values, [{ double_val: 4.25, val: 'double_val' }, {}, {}, { double_val: 1.5, val: 'double_val' }]);
    assert.deepEqual(ok.values, [{ bool_val: true, val: 'bool_val' }, {}, {}, { bool_val: false, val: 'bool_val' }]);
    assert.deepEqual(ok.statuses, ['PRESENT', 'NOT_FOUND', 'NOT_FOUND', 'PRESENT']);
    assert.deepEqual(blob.values, [{ bytes_val: Buffer.from([1, 2, 3]), val: 'bytes_val' }, {}, {}, {}]);
    assert.deepEqual(hist.values, [{ double_list_val: { val: [1, 2.5] }, val: 'double_list_val' }, {}, {}, {}]);
    assert.deepEqual(hist.statuses, ['PRESENT', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
  });

  it('GetOnlineFeatures with feature_service + full_feature_names uses the alias', async () => {
    const res = await get({ feature_service: 'svc', full_feature_names: true, entities: { driver_id: int64s('1001') } });
    assert.deepEqual(names(res), ['driver_id', 's__conv', 's__trips']);
    assert.deepEqual(res.results[1].values, [{ float_val: 0.5, val: 'float_val' }]);
    assert.deepEqual(res.results[2].values, [{ int64_val: '9007199254740993', val: 'int64_val' }]);
    assert.deepEqual(res.results[2].event_timestamps.map(ts), [[TS_2024, 500000000]]);
  });

  it('int32_val and string_val entities', async () => {
    let res = await get({ features: { val: ['store_stats:revenue'] }, entities: { store_id: { val: [{ int32_val: 7 }, { int32_val: 8 }] } } });
    assert.deepEqual(names(res), ['store_id', 'revenue']);
    assert.deepEqual(res.results[0].values, [{ int32_val: 7, val: 'int32_val' }, { int32_val: 8, val: 'int32_val' }]);
    assert.deepEqual(res.results[1].values, [{ double_val: 99.5, val: 'double_val' }, {}]);
    assert.deepEqual(res.results[1].statuses, ['PRESENT', 'NOT_FOUND']);

    res = await get({ features: { val: ['cust:tier'] }, entities: { customer_id: { val: [{ string_val: 'C1' }, { string_val: 'C2' }] } } });
    assert.deepEqual(names(res), ['customer_id', 'tier']);
    assert.deepEqual(res.results[0].values, [{ string_val: 'C1', val: 'string_val' }, { string_val: 'C2', val: 'string_val' }]);
    assert.deepEqual(res.results[1].values, [{ string_val: 'gold', val: 'string_val' }, {}]);
    assert.deepEqual(res.results[1].statuses, ['PRESENT', 'NOT_FOUND']);
    assert.deepEqual(res.results[1].event_timestamps.map(ts), [[TS_2024, 0], [0, 0]]);
  });

  it('OUTSIDE_MAX_AGE keeps the value', async () => {
    const res = await get({ features: { val: ['ttl_view:x'] }, entities: { driver_id: int64s('1001', '1002') } });
    assert.deepEqual(res.results[1].values, [{ int64_val: '1', val: 'int64_val' }, { int64_val: '2', val: 'int64_val' }]);
    assert.deepEqual(res.results[1].statuses, ['OUTSIDE_MAX_AGE', 'PRESENT']);
    assert.deepEqual(res.results[1].event_timestamps.map(ts), [[now - 7200, 0], [now - 10, 0]]);
  });

  it('GetFeastServingInfo returns the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const res = await rpc.serving('GetFeastServingInfo', {});
    assert.deepEqual(res, { version: pkg.version });
  });

  it('grpc.health.v1.Health/Check is SERVING', async () => {
    assert.deepEqual(await rpc.health(), { status: 'SERVING' });
    assert.deepEqual(await rpc.health('feast.serving.ServingService'), { status: 'SERVING' });
  });

  it('errors map to gRPC status codes with a message naming the input; the server survives them', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      ['unknown view', { features: { val: ['nope_view:x'] }, entities: { driver_id: int64s('1') } }, 5, /'nope_view'/],
      ['unknown feature', { features: { val: ['stats:nope'] }, entities: { driver_id: int64s('1') } }, 5, /'nope'/],
      ['unknown service', { feature_service: 'nope_svc', entities: { driver_id: int64s('1') } }, 5, /'nope_svc'/],
      ['online=false view', { features: { val: ['offline_view:y'] }, entities: { driver_id: int64s('1') } }, 9, /'offline_view'/],
      ['missing join key', { features: { val: ['store_stats:revenue'] }, entities: { driver_id: int64s('1') } }, 3, /'store_id'/],
      ['string for an INT64 key', { features: { val: ['stats:conv'] }, entities: { driver_id: { val: [{ string_val: 'abc' }] } } }, 3, /'driver_id'/],
      ['double for an INT64 key', { features: { val: ['stats:conv'] }, entities: { driver_id: { val: [{ double_val: 1.5 }] } } }, 3, /'driver_id'/],
      ['2^40 for an INT32 key', { features: { val: ['store_stats:revenue'] }, entities: { store_id: { val: [{ int64_val: String(2 ** 40) }] } } }, 3, /'store_id'/],
      ['an unset Value as an entity value', { features: { val: ['stats:conv'] }, entities: { driver_id: { val: [{}] } } }, 3, /'driver_id'/],
      ['a list as an entity value', { features: { val: ['stats:conv'] }, entities: { driver_id: { val: [{ int64_val: '1' }, { int64_list_val: { val: ['1'] } }] } } }, 3, /entities\.driver_id\[1\]: a int64_list_val cannot be an entity value/],
      ['columns of different lengths', { features: { val: ['stats:conv', 'store_stats:revenue'] }, entities: { driver_id: int64s('1', '2'), store_id: { val: [{ int32_val: 7 }] } } }, 3, /store_id/],
      ['no features', { entities: { driver_id: int64s('1') } }, 3, /feature/],
    ];
    for (const [what, req, code, message] of cases) {
      await assert.rejects(get(req), (err: GrpcCallError) => {
        assert.equal(err.code, code, `${what}: code ${err.code} (${err.details})`);
        assert.match(err.details, message, `${what}: ${err.details}`);
        return true;
      });
    }
    const res = await get({ features: { val: ['stats:score'] }, entities: { driver_id: int64s('1001') } });
    assert.deepEqual(res.results[1].values, [{ double_val: 4.25, val: 'double_val' }]);
    assert.deepEqual(await rpc.health(), { status: 'SERVING' });
  });

  it('the same request over HTTP and gRPC gives the same values, statuses and timestamps', async () => {
    const features = ['stats:conv', 'stats:trips', 'stats:name', 'stats:score', 'stats:ok', 'stats:blob', 'stats:hist', 'ttl_view:x'];
    const ids = ['1001', '1002', '1003', INT64_MAX, '1001'];
    const g = await get({ features: { val: features }, entities: { driver_id: int64s(...ids) } });
    const http = await server.post('/get-online-features', `{"features":${JSON.stringify(features)},"entities":{"driver_id":[${ids.join(',')}]}}`);
    assert.equal(http.status, 200, http.text);

    // The gRPC answer rendered with Feast's JSON rules (feast-compat.md §6.2), then compared as text.
    const json = (v: any): string => {
      switch (v.val) {
        case undefined:
          return 'null';
        case 'int64_val':
          return v.int64_val;
        case 'float_val':
        case 'double_val':
          return pyRepr(v[v.val]);
        case 'string_val':
          return JSON.stringify(v.string_val);
        case 'bool_val':
          return String(v.bool_val);
        case 'bytes_val':
          return `"${Buffer.from(v.bytes_val).toString('base64')}"`;
        case 'double_list_val':
          return `[${v.double_list_val.val.map(pyRepr).join(',')}]`;
        default:
          throw new Error(`test does not render ${v.val}`);
      }
    };
    const cols: Column[] = g.results.map((r: any, i: number) =>
      i === 0
        ? entityColumn(r.values.map(json))
        : featureColumn(
            r.values.map(json),
            r.statuses,
            r.event_timestamps.map((t: any) => isoNanos(...(ts(t) as [number, number]))),
          ),
    );
    assert.equal(http.text, responseText(names(g), cols));
    // and the gRPC side is not trivially empty
    assert.deepEqual(g.results[8].statuses, ['OUTSIDE_MAX_AGE', 'PRESENT', 'NOT_FOUND', 'NOT_FOUND', 'OUTSIDE_MAX_AGE']);
  });
});
