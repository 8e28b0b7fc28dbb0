/**
 * The embedded default: a repo whose feature_store.yaml names the SQLite online store. One view is
 * written with our SqliteOnlineWriter; another table is created and filled by hand with raw SQL in
 * Feast's layout (sdk/python/feast/infra/online_stores/sqlite.py: table `<project>_<view>`,
 * entity_key = serialized key WITHOUT the project, feature_name, value = serialized Value,
 * event_ts as integer epoch seconds (current Feast) or ISO text (older Feast)). Served over HTTP.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { serializeEntityKey } from '../../src/encoding/entity-key.js';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { ValueType } from '../../src/encoding/value-type.js';
import { SqliteOnlineWriter } from '../../src/online/sqlite/writer.js';
import type { RepoDefinition } from '../../src/registry/definition.js';
import { EPOCH, entityColumn, featureColumn, pyFloat32, responseText } from '../helpers/feast-json.js';
import { makeRepo, type TempRepo } from '../helpers/repo.js';
import { uniqueProject } from '../helpers/services.js';
import { startServe, type TestServer } from '../helpers/start-serve.js';

const TS_2024 = 1704067200;
const T0 = '2024-01-01T00:00:00Z';

function definition(project: string): RepoDefinition {
  return {
    project,
    entities: [
      { name: 'driver', joinKey: 'driver_id', valueType: 'INT64' },
      { name: 'store', joinKey: 'store_id', valueType: 'INT32' },
    ],
    featureViews: [
      {
        name: 'driver_stats',
        entities: ['driver'],
        features: [
          { name: 'conv', valueType: 'FLOAT' },
          { name: 'trips', valueType: 'INT64' },
          { name: 'name', valueType: 'STRING' },
          { name: 'tags', valueType: 'STRING_LIST' },
        ],
      },
      {
        name: 'driver_hourly_stats',
        entities: ['driver'],
        features: [
          { name: 'conv_rate', valueType: 'FLOAT' },
          { name: 'avg_daily_trips', valueType: 'INT64' },
        ],
      },
      { name: 'store_stats', entities: ['store'], features: [{ name: 'revenue', valueType: 'DOUBLE' }] },
      { name: 'never_materialized', entities: ['driver'], features: [{ name: 'x', valueType: 'INT64' }] },
    ],
  };
}

function sqliteYaml(project: string): string {
  return [
    `project: ${project}`,
    'provider: local',
    'registry:',
    '  path: data/registry.db',
    '  cache_ttl_seconds: 0',
    'online_store:',
    '  type: sqlite',
    '  path: data/online.db',
    'entity_key_serialization_version: 3',
    '',
  ].join('\n');
}

describe('HTTP over the SQLite online store', () => {
  const project = uniqueProject('embedded') // not 'sqlite_…': SQLite reserves table names starting with sqlite_;
  let repo: TempRepo;
  let server: TestServer;

  before(async () => {
    repo = makeRepo(definition(project), sqliteYaml(project));
    const dbPath = join(repo.dir, 'data', 'online.db');

    // 1. Through our writer.
    const writer = new SqliteOnlineWriter(dbPath, project);
    const key = (id: number) => serializeEntityKey(['driver_id'], [{ type: 4, value: id }], 3);
    writer.write('driver_stats', [
      {
        entityKey: key(1001),
        eventTs: { seconds: TS_2024, nanos: 0 },
        values: new Map([
          ['conv', encodeValue(ValueType.FLOAT, 0.7)],
          ['trips', encodeValue(ValueType.INT64, 9007199254740993n)],
          ['name', encodeValue(ValueType.STRING, 'Ana')],
          ['tags', encodeValue(ValueType.STRING_LIST, ['x', 'y'])],
        ]),
      },
      {
        entityKey: key(1002),
        eventTs: { seconds: TS_2024 + 60, nanos: 0 },
        values: new Map([
          ['conv', Buffer.alloc(0)], // Feast's None
          ['trips', encodeValue(ValueType.INT64, -1)],
          ['name', encodeValue(ValueType.STRING, '')],
        ]),
      },
    ]);
    writer.write('store_stats', [
      {
        entityKey: serializeEntityKey(['store_id'], [{ type: 3, value: 7 }], 3),
        eventTs: { seconds: TS_2024, nanos: 0 },
        values: new Map([['revenue', encodeValue(ValueType.DOUBLE, 12.0)]]),
      },
    ]);
    writer.close();

    // 2. By hand, as Feast's sqlite.py lays it out; bytes from feast-compat.md §1.6 / §2.2.
    const db = new Database(dbPath);
    const table = `${project}_driver_hourly_stats`;
    db.exec(
      `CREATE TABLE IF NOT EXISTS "${table}" (entity_key BLOB, feature_name TEXT, value BLOB, value_text TEXT, vector_value BLOB, event_ts timestamp, created_ts timestamp,  PRIMARY KEY(entity_key, feature_name))`,
    );
    db.exec(`CREATE INDEX IF NOT EXISTS "${table}_ek" ON "${table}" (entity_key)`);
    const insert = db.prepare(`INSERT INTO "${table}" (entity_key, feature_name, value, event_ts, created_ts) VALUES (?, ?, ?, ?, ?)`);
    const k1001 = Buffer.from('0100000002000000090000006472697665725f69640400000008000000e903000000000000', 'hex');
    const k1002 = Buffer.from('0100000002000000090000006472697665725f69640400000008000000ea03000000000000', 'hex');
    // current Feast: integer epoch seconds
    insert.run(k1001, 'conv_rate', Buffer.from('350000003f', 'hex'), TS_2024, TS_2024);
    insert.run(k1001, 'avg_daily_trips', Buffer.from('202a', 'hex'), TS_2024, TS_2024);
    // older Feast: ISO text from Python's datetime adapter
    insert.run(k1002, 'conv_rate', Buffer.from('350000803e', 'hex'), '2021-04-12 10:59:42.123456', '2021-04-12 11:00:00');
    insert.run(k1002, 'avg_daily_trips', Buffer.from('20ffffffffffffffffff01', 'hex'), '2021-04-12 10:59:42.123456', '2021-04-12 11:00:00');
    db.close();

    server = await startServe(repo.dir);
  });

  after(async () => {
    await server?.close();
    repo?.remove();
  });

  const expectOk = async (body: unknown, expected: string) => {
    const res = await server.post('/get-online-features', body);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, expected);
  };

  it('serves rows written by SqliteOnlineWriter: values, NULL_VALUE, missing feature and entity NOT_FOUND', async () => {
    const T1 = '2024-01-01T00:01:00Z';
    await expectOk(
      { features: ['driver_stats:conv', 'driver_stats:trips', 'driver_stats:name', 'driver_stats:tags'], entities: { driver_id: [1001, 1002, 1003] } },
      responseText(
        ['driver_id', 'conv', 'trips', 'name', 'tags'],
        [
          entityColumn(['1001', '1002', '1003']),
          featureColumn([pyFloat32(0.7), 'null', 'null'], ['PRESENT', 'NULL_VALUE', 'NOT_FOUND'], [T0, T1, EPOCH]),
          featureColumn(['9007199254740993', '-1', 'null'], ['PRESENT', 'PRESENT', 'NOT_FOUND'], [T0, T1, EPOCH]),
          featureColumn(['"Ana"', '""', 'null'], ['PRESENT', 'PRESENT', 'NOT_FOUND'], [T0, T1, EPOCH]),
          featureColumn(['["x","y"]', 'null', 'null'], ['PRESENT', 'NOT_FOUND', 'NOT_FOUND'], [T0, EPOCH, EPOCH]),
        ],
      ),
    );
  });

  it('serves hand-inserted Feast rows with integer and ISO-text event_ts', async () => {
    await expectOk(
      { features: ['driver_hourly_stats:conv_rate', 'driver_hourly_stats:avg_daily_trips'], entities: { driver_id: [1001, 1002, 1003] } },
      responseText(
        ['driver_id', 'conv_rate', 'avg_daily_trips'],
        [
          entityColumn(['1001', '1002', '1003']),
          featureColumn(['0.5', '0.25', 'null'], ['PRESENT', 'PRESENT', 'NOT_FOUND'], [T0, '2021-04-12T10:59:42.123456Z', EPOCH]),
          featureColumn(['42', '-1', 'null'], ['PRESENT', 'PRESENT', 'NOT_FOUND'], [T0, '2021-04-12T10:59:42.123456Z', EPOCH]),
        ],
      ),
    );
  });

  it('INT32 key, and a view whose table does not exist is NOT_FOUND (not an error)', async () => {
    await expectOk(
      { features: ['store_stats:revenue'], entities: { store_id: [7, 8] } },
      responseText(['store_id', 'revenue'], [entityColumn(['7', '8']), featureColumn(['12.0', 'null'], ['PRESENT', 'NOT_FOUND'], [T0, EPOCH])]),
    );
    await expectOk(
      { features: ['never_materialized:x', 'driver_stats:trips'], entities: { driver_id: [1001] } },
      responseText(
        ['driver_id', 'x', 'trips'],
        [entityColumn(['1001']), featureColumn(['null'], 'NOT_FOUND', EPOCH), featureColumn(['9007199254740993'], 'PRESENT', T0)],
      ),
    );
  });

  it('a table created after the server started (first materialization) is read', async () => {
    const body = { features: ['never_materialized:x'], entities: { driver_id: [1001] } };
    await expectOk(body, responseText(['driver_id', 'x'], [entityColumn(['1001']), featureColumn(['null'], 'NOT_FOUND', EPOCH)]));
    // `feast materialize` now runs: its update() creates the table, then rows are written.
    // (A reader that remembers "no such table" for good keeps answering NOT_FOUND until restart.)
    const writer = new SqliteOnlineWriter(join(repo.dir, 'data', 'online.db'), project);
    writer.write('never_materialized', [
      {
        entityKey: serializeEntityKey(['driver_id'], [{ type: 4, value: 1001 }], 3),
        eventTs: { seconds: TS_2024, nanos: 0 },
        values: new Map([['x', encodeValue(ValueType.INT64, 5)]]),
      },
    ]);
    writer.close();
    await expectOk(body, responseText(['driver_id', 'x'], [entityColumn(['1001']), featureColumn(['5'], 'PRESENT', T0)]));
  });

  it('reads two views of one entity in one request, with duplicate rows', async () => {
    await expectOk(
      { features: ['driver_hourly_stats:conv_rate', 'driver_stats:name'], entities: { driver_id: [1001, 1001] } },
      responseText(
        ['driver_id', 'conv_rate', 'name'],
        [entityColumn(['1001', '1001']), featureColumn(['0.5', '0.5'], 'PRESENT', T0), featureColumn(['"Ana"', '"Ana"'], 'PRESENT', T0)],
      ),
    );
  });

  it('/health is 200 and errors still follow the rules', async () => {
    const health = await fetch(`${server.url}/health`, { headers: { connection: 'close' } });
    assert.equal(health.status, 200);
    const res = await server.post('/get-online-features', { features: ['nope:x'], entities: { driver_id: [1] } });
    assert.equal(res.status, 404, res.text);
  });
});
