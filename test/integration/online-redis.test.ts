// The Redis reader against a real Redis seeded in Feast's layout: the fast lane (HMGET and
// HGETALL), the one-script path and the pipelined HMGET path must return the same cells, and the
// script path must survive a SCRIPT FLUSH (NOSCRIPT after a Redis restart or failover).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { redisClient, uniqueProject, dropProject } from '../helpers/services.js';
import { seedFeastRedis } from '../helpers/feast-redis.js';
import { RedisOnlineReader } from '../../src/online/redis/reader.js';
import { serializeEntityKey } from '../../src/encoding/entity-key.js';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { encodeTimestamp } from '../../src/encoding/timestamp.js';
import { ValueType } from '../../src/encoding/value-type.js';
import { rowsFromCells, type GroupLayout, type ReadBatch } from '../../src/online/types.js';
import { openFastLane, waitLane } from '../../src/online/redis/connect.js';
import type { FeatureViewDef } from '../../src/registry/model.js';

let client: Redis;
const project = uniqueProject('online_redis');

const view = (name: string, features: string[]): FeatureViewDef => ({
  name,
  kind: 'feature_view',
  project,
  entityNames: ['driver'],
  joinKeys: [{ name: 'driver_id', valueType: ValueType.INT64 }],
  features: features.map((f) => ({ name: f, valueType: ValueType.INT64 })),
  featureByName: new Map(features.map((f) => [f, { name: f, valueType: ValueType.INT64 }])),
  ttlSeconds: 0,
  online: true,
  disabled: false,
  state: 0,
  writeToOnlineStore: true,
  streamSourceName: null,
});

const a = view('view_a', ['x', 'y']);
const b = view('view_b', ['z']);
// Three stored fields per key for view_a+view_b's join key would be 5; storedFields 100 keeps HMGET.
const layoutAB: GroupLayout = {
  width: 5,
  storedFields: 100,
  views: [
    { view: a, features: ['x', 'y'], featureSlots: [1, 2], tsSlot: 0 },
    { view: b, features: ['z'], featureSlots: [4], tsSlot: 3 },
  ],
};
const layoutB: GroupLayout = { width: 2, storedFields: 100, views: [{ view: b, features: ['z'], featureSlots: [1], tsSlot: 0 }] };
const key = (id: number) => Buffer.concat([serializeEntityKey(['driver_id'], [{ type: 4, value: id }], 3), Buffer.from(project)]);

before(async () => {
  client = await redisClient();
  await seedFeastRedis(client, project, 'view_a', [
    { entity: { driver_id: { type: 4, value: 1 } }, ts: { seconds: 100 }, values: { x: encodeValue(ValueType.INT64, 11), y: encodeValue(ValueType.INT64, 12) } },
    { entity: { driver_id: { type: 4, value: 2 } }, ts: { seconds: 200 }, values: { x: encodeValue(ValueType.INT64, 21) } },
  ]);
  await seedFeastRedis(client, project, 'view_b', [
    { entity: { driver_id: { type: 4, value: 2 } }, ts: { seconds: 300 }, values: { z: encodeValue(ValueType.INT64, 23) } },
  ]);
});

after(async () => {
  await dropProject(client, project);
  client.disconnect();
});

function batches(reader: RedisOnlineReader): ReadBatch[] {
  return [
    { layout: layoutAB, prepared: reader.prepare(layoutAB), keys: [key(1), key(2), key(3)] },
    { layout: layoutB, prepared: reader.prepare(layoutB), keys: [key(2)] },
  ];
}

/** Reads `batches(reader)` and returns the cells as hex, [batch][key][slot]. */
async function readHex(reader: RedisOnlineReader): Promise<(string | null)[][][]> {
  const bs = batches(reader);
  return rowsFromCells(bs, await reader.read(bs)).map((g) => g.map((r) => r.map((c) => (c ? c.toString('hex') : null))));
}

test('script and pipeline paths return the same Feast cells', async () => {
  const s = await readHex(new RedisOnlineReader(client, project, { mode: 'script' }));
  const p = await readHex(new RedisOnlineReader(client, project, { mode: 'pipeline' }));
  assert.deepEqual(s, p);
  const ts = (sec: number) => encodeTimestamp(sec, 0).toString('hex');
  const v = (n: number) => encodeValue(ValueType.INT64, n).toString('hex');
  assert.deepEqual(s, [
    [
      [ts(100), v(11), v(12), null, null],
      [ts(200), v(21), null, ts(300), v(23)],
      [null, null, null, null, null],
    ],
    [[ts(300), v(23)]],
  ]);
});

test('the script path recovers from NOSCRIPT (script cache flushed)', async () => {
  const reader = new RedisOnlineReader(client, project, { mode: 'script' });
  const before = await readHex(reader);
  await client.script('FLUSH');
  assert.deepEqual(await readHex(reader), before);
});
