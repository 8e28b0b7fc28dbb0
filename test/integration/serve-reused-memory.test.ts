/**
 * Large reads reuse memory (src/online/buffer-pool.ts): a request's reply offsets and cell arrays
 * go to the next request of the same size without being cleared. These requests are sized so
 * that they take pooled memory (over 64 KiB of cells), and each runs right after a request of the
 * same shape whose cells were all PRESENT with non-zero values and timestamps, so anything the
 * reused memory still held from that request would show up in the answer:
 *  - never-written entities: NOT_FOUND, null, epoch timestamps;
 *  - a view whose `_ts:` field is present but empty (Feast parses empty Timestamp bytes as
 *    seconds 0): the values, PRESENT, epoch timestamps;
 *  - the same through HMGET (a few of the features) and through gRPC;
 *  - eight large requests in flight at once, each checked: a buffer lent to two of them at once
 *    (replies parsed into one while the other's cells point at it) shows up here, and only here
 *    (checked by making the pool hand out a buffer without taking it off its free list);
 *  - the same over gRPC, whose encoded responses (over 64 KiB) are pooled too and may only be
 *    reused once node:http2 has written them: the client keeps HTTP/2's default 64 KiB receive
 *    window, so each response waits on flow control, in pieces, while the others are encoded.
 * Real server over HTTP and gRPC, real Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { ValueType } from '../../src/encoding/value-type.js';
import type { RepoDefinition } from '../../src/registry/definition.js';
import { EPOCH, entityColumn, featureColumn, isoSeconds, responseText } from '../helpers/feast-json.js';
import { seedFeastRedis, type SeedRow } from '../helpers/feast-redis.js';
import { servingClients } from '../helpers/grpc-client.js';
import { connectRaw, messages, prefixed, rawCall } from '../helpers/grpc-raw.js';
import { protoType } from '../../src/proto/root.js';
import { makeRepo, redisYaml, type TempRepo } from '../helpers/repo.js';
import { dropProject, redisClient, redisTarget, uniqueProject } from '../helpers/services.js';
import { startServe, type TestServer } from '../helpers/start-serve.js';
import { redisHashField, redisTimestampField } from '../../src/encoding/redis-layout.js';
import { serializeEntityKey } from '../../src/encoding/entity-key.js';

const FEATURES = Array.from({ length: 12 }, (_, j) => `f${j}`);
const T0 = 1_700_000_000;
const ROWS = 400;
/** Present, non-zero everything: ids 1..ROWS. */
const PRESENT_IDS = Array.from({ length: ROWS }, (_, i) => 1 + i);
/** Never written. */
const MISSING_IDS = Array.from({ length: ROWS }, (_, i) => 100_001 + i);
/** Values written, `_ts:wide` present but empty. */
const EMPTY_TS_IDS = Array.from({ length: ROWS }, (_, i) => 50_001 + i);

const value = (id: number, j: number) => id * 100 + j;

function definition(project: string): RepoDefinition {
  return {
    project,
    entities: [{ name: 'driver', joinKey: 'driver_id', valueType: 'INT64' }],
    featureViews: [{ name: 'wide', entities: ['driver'], features: FEATURES.map((name) => ({ name, valueType: 'INT64' as const })) }],
  };
}

function request(ids: readonly number[], features: readonly string[]): string {
  return JSON.stringify({ features: features.map((f) => `wide:${f}`), entities: { driver_id: ids } });
}

function expected(ids: readonly number[], features: readonly string[], kind: 'present' | 'missing' | 'empty-ts'): string {
  return responseText(
    ['driver_id', ...features],
    [
      entityColumn(ids.map(String)),
      ...features.map((f) => {
        const j = Number(f.slice(1));
        if (kind === 'missing') return featureColumn(ids.map(() => 'null'), 'NOT_FOUND', EPOCH);
        const ts = kind === 'present' ? ids.map((id) => isoSeconds(T0 + id)) : EPOCH;
        return featureColumn(ids.map((id) => String(value(id, j))), 'PRESENT', ts);
      }),
    ],
  );
}

describe('large reads on reused memory', () => {
  const project = uniqueProject('reuse');
  let client: Redis;
  let repo: TempRepo;
  let server: TestServer;

  before(async () => {
    const target = await redisTarget();
    client = await redisClient();
    const row = (id: number, ts: SeedRow['ts']): SeedRow => ({
      entity: { driver_id: { type: 4, value: id } },
      ts,
      values: Object.fromEntries(FEATURES.map((f, j) => [f, encodeValue(ValueType.INT64, value(id, j))])),
    });
    await seedFeastRedis(client, project, 'wide', PRESENT_IDS.map((id) => row(id, { seconds: T0 + id })));
    await seedFeastRedis(client, project, 'wide', EMPTY_TS_IDS.map((id) => row(id, null)));
    // An empty `_ts:wide` value (the seed helper writes a field only for a timestamp it encodes).
    const pipe = client.pipeline();
    for (const id of EMPTY_TS_IDS) {
      const key = Buffer.concat([serializeEntityKey(['driver_id'], [{ type: 4, value: id }], 3), Buffer.from(project)]);
      pipe.hset(key, redisTimestampField('wide'), Buffer.alloc(0));
    }
    await pipe.exec();
    // The seeded layout is what the reader will see: one 13-field hash per written entity.
    const key1 = Buffer.concat([serializeEntityKey(['driver_id'], [{ type: 4, value: 1 }], 3), Buffer.from(project)]);
    assert.equal(await client.hlen(key1), 13);
    assert.ok(await client.hexists(key1, redisHashField('wide', 'f0')));
    repo = makeRepo(definition(project), redisYaml(project, target.host, target.port));
    server = await startServe(repo.dir);
  });

  after(async () => {
    await server?.close();
    repo?.remove();
    if (client) {
      await dropProject(client, project);
      client.disconnect();
    }
  });

  for (const [path, features] of [
    ['HGETALL (every feature)', FEATURES],
    ['HMGET (3 of 12 features)', ['f0', 'f5', 'f11']],
  ] as const) {
    it(`${path}: NOT_FOUND and empty-timestamp rows right after fully PRESENT ones`, async () => {
      for (let round = 0; round < 3; round++) {
        for (const [ids, kind] of [
          [PRESENT_IDS, 'present'],
          [MISSING_IDS, 'missing'],
          [PRESENT_IDS, 'present'],
          [EMPTY_TS_IDS, 'empty-ts'],
        ] as const) {
          const res = await server.post('/get-online-features', request(ids, features));
          assert.equal(res.status, 200, res.text);
          assert.equal(res.text, expected(ids, features, kind), `${kind} rows, round ${round}`);
        }
      }
    });
  }

  it('concurrent large reads: each answer is its own (no buffer serves two requests at once)', async () => {
    // Eight requests in flight at once, each a different rotation of the present ids, half of
    // them with never-written ids mixed in: their replies are parsed while others are rendered.
    const shapes = Array.from({ length: 8 }, (_, k) => {
      const ids = PRESENT_IDS.map((_, i) => PRESENT_IDS[(i + k * 37) % ROWS]!);
      if (k % 2 === 1) for (let i = 0; i < ROWS; i += 3) ids[i] = MISSING_IDS[i]!;
      return ids;
    });
    const expectedFor = (ids: readonly number[]) =>
      responseText(
        ['driver_id', ...FEATURES],
        [
          entityColumn(ids.map(String)),
          ...FEATURES.map((f, j) =>
            featureColumn(
              ids.map((id) => (id > ROWS ? 'null' : String(value(id, j)))),
              ids.map((id) => (id > ROWS ? 'NOT_FOUND' : 'PRESENT')),
              ids.map((id) => (id > ROWS ? EPOCH : isoSeconds(T0 + id))),
            ),
          ),
        ],
      );
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(shapes.map((ids) => server.post('/get-online-features', request(ids, FEATURES))));
      answers.forEach((res, k) => {
        assert.equal(res.status, 200, res.text);
        assert.equal(res.text, expectedFor(shapes[k]!), `request ${k}, round ${round}`);
      });
    }
  });

  it('gRPC: NOT_FOUND rows right after fully PRESENT ones', async () => {
    const c = servingClients(server.grpcAddress);
    const call = (ids: readonly number[]) =>
      c.serving('GetOnlineFeatures', {
        features: { val: FEATURES.map((f) => `wide:${f}`) },
        entities: { driver_id: { val: ids.map((id) => ({ int64_val: String(id) })) } },
      });
    try {
      for (let round = 0; round < 3; round++) {
        const present = await call(PRESENT_IDS);
        assert.equal(present.results[1].values[5].int64_val, String(value(PRESENT_IDS[5]!, 0)));
        assert.equal(Number(present.results[12].event_timestamps[7].seconds), T0 + PRESENT_IDS[7]!);
        const missing = await call(MISSING_IDS);
        for (let f = 1; f <= FEATURES.length; f++) {
          const col = missing.results[f];
          assert.deepEqual(new Set(col.statuses), new Set(['NOT_FOUND']), `feature column ${f}`);
          assert.ok(col.values.every((v: object) => Object.keys(v).length === 0), `feature column ${f}: values must be empty`);
          // An unset Timestamp: no seconds (or 0) and no nanos.
          assert.ok(
            col.event_timestamps.every((t: { seconds?: string; nanos?: number }) => Number(t.seconds ?? 0) === 0 && (t.nanos ?? 0) === 0),
            `feature column ${f}: timestamps must be unset`,
          );
        }
      }
    } finally {
      c.close();
    }
  });
  it('gRPC: concurrent large responses, held back by flow control, are each their own', async () => {
    const Request = protoType('feast.serving.GetOnlineFeaturesRequest');
    const Response = protoType('feast.serving.GetOnlineFeaturesResponse');
    const shapes = Array.from({ length: 8 }, (_, k) => PRESENT_IDS.map((_, i) => PRESENT_IDS[(i + k * 53) % ROWS]!));
    const session = await connectRaw(server.grpcAddress);
    try {
      for (let round = 0; round < 4; round++) {
        const answers = await Promise.all(
          shapes.map((ids) => {
            const req = Request.encode({
              features: { val: FEATURES.map((f) => `wide:${f}`) },
              entities: { driver_id: { val: ids.map((id) => ({ int64_val: id })) } },
            }).finish();
            return rawCall(session, '/feast.serving.ServingService/GetOnlineFeatures', [prefixed(req)]);
          }),
        );
        answers.forEach((answer, k) => {
          assert.equal(answer.grpcStatus, 0, answer.grpcMessage);
          const [msg] = messages(answer.body);
          assert.ok(msg!.length > 1 << 16, `response ${k} is ${msg!.length} bytes: it must be large enough to be pooled`);
          const res = Response.toObject(Response.decode(msg!), { longs: Number, enums: String }) as any;
          const ids = shapes[k]!;
          assert.deepEqual(res.results[0].values.map((v: any) => v.int64_val), ids, `request ${k}, round ${round}: entity column`);
          FEATURES.forEach((_, j) => {
            const col = res.results[1 + j];
            assert.deepEqual(col.values.map((v: any) => v.int64_val), ids.map((id) => value(id, j)), `request ${k}, round ${round}, f${j}`);
            assert.deepEqual(col.event_timestamps.map((t: any) => t.seconds), ids.map((id) => T0 + id), `request ${k}, round ${round}, f${j} timestamps`);
          });
        });
      }
    } finally {
      session.close();
    }
  });
});
