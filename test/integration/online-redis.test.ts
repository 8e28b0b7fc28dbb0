// The Redis reader against a real Redis seeded in Feast's layout: the fast lane (HMGET and
// HGETALL), the one-script path and the pipelined HMGET path must return the same cells, and the
// script path must survive a SCRIPT FLUSH (NOSCRIPT after a Redis restart or failover).
//
// The fast-lane tests that count commands (INFO commandstats), kill connections, pause the server
// or need a password run against private `redis-server` processes started on free ports, so
// nothing else touches what they count and they disturb no other test file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { redisClient, redisTarget, uniqueProject, dropProject } from '../helpers/services.js';
import { startRedisServer, type RedisServerProcess } from '../helpers/redis-server.js';
import { int64DriverView } from '../helpers/views.js';
import { clientList, commandCalls, type ClientInfo } from '../helpers/redis-admin.js';
import { seedFeastRedis, type SeedRow } from '../helpers/feast-redis.js';
import { RedisOnlineReader } from '../../src/online/redis/reader.js';
import { serializeEntityKey } from '../../src/encoding/entity-key.js';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { encodeTimestamp } from '../../src/encoding/timestamp.js';
import { ValueType } from '../../src/encoding/value-type.js';
import { rowsFromCells, type GroupLayout, type ReadBatch, type ReadCells } from '../../src/online/types.js';
import { openFastLane, waitLane, type RedisConnectionSpec } from '../../src/online/redis/connect.js';
import type { RespLane } from '../../src/online/redis/lane.js';
import { RespReplyParser, encodeCommand } from '../../src/online/redis/resp.js';
import { PlatterError } from '../../src/errors.js';

let client: Redis;
const project = uniqueProject('online_redis');

const view = (name: string, features: string[]) => int64DriverView(project, name, features);

const a = view('view_a', ['x', 'y']);
const b = view('view_b', ['z']);
// storedFields far above the width: these layouts read with HMGET (the HGETALL ones are below).
const layoutAB: GroupLayout = {
  width: 5,
  storedFields: 100,
  views: [
    { view: a, features: ['x', 'y'], featureSlots: [1, 2], tsSlot: 0 },
    { view: b, features: ['z'], featureSlots: [4], tsSlot: 3 },
  ],
};
const layoutB: GroupLayout = { width: 2, storedFields: 100, views: [{ view: b, features: ['z'], featureSlots: [1], tsSlot: 0 }] };
// The same reads with storedFields equal to the width: the lane reads whole hashes (HGETALL) and
// places fields by name. key(2)'s hash also holds view_a's fields, which layoutBWhole must skip.
const layoutABWhole: GroupLayout = { ...layoutAB, storedFields: 5 };
const layoutBWhole: GroupLayout = { ...layoutB, storedFields: 2 };
const key = (id: number) => Buffer.concat([serializeEntityKey(['driver_id'], [{ type: 4, value: id }], 3), Buffer.from(project)]);

/** The small data set: driver 1 in view_a, driver 2 in view_a (x only) and view_b, driver 3 nowhere. */
async function seedSmall(c: Redis): Promise<void> {
  await seedFeastRedis(c, project, 'view_a', [
    { entity: { driver_id: { type: 4, value: 1 } }, ts: { seconds: 100 }, values: { x: encodeValue(ValueType.INT64, 11), y: encodeValue(ValueType.INT64, 12) } },
    { entity: { driver_id: { type: 4, value: 2 } }, ts: { seconds: 200 }, values: { x: encodeValue(ValueType.INT64, 21) } },
  ]);
  await seedFeastRedis(c, project, 'view_b', [
    { entity: { driver_id: { type: 4, value: 2 } }, ts: { seconds: 300 }, values: { z: encodeValue(ValueType.INT64, 23) } },
  ]);
}

before(async () => {
  client = await redisClient();
  await seedSmall(client);
});

after(async () => {
  await dropProject(client, project);
  client.disconnect();
});

function batches(reader: RedisOnlineReader, ab: GroupLayout = layoutAB, bOnly: GroupLayout = layoutB): ReadBatch[] {
  return [
    { layout: ab, prepared: reader.prepare(ab), keys: [key(1), key(2), key(3)] },
    { layout: bOnly, prepared: reader.prepare(bOnly), keys: [key(2)] },
  ];
}
/** Keys read by `batches()`. */
const SMALL_KEYS = 4;

const hexCells = (bs: ReadBatch[], cells: ReadCells) =>
  rowsFromCells(bs, cells).map((g) => g.map((r) => r.map((c) => (c ? c.toString('hex') : null))));

/** Reads `batches(reader)` and returns the cells as hex, [batch][key][slot]. */
async function readHex(reader: RedisOnlineReader, ab?: GroupLayout, bOnly?: GroupLayout): Promise<(string | null)[][][]> {
  const bs = batches(reader, ab, bOnly);
  return hexCells(bs, await reader.read(bs));
}

const tsHex = (sec: number) => encodeTimestamp(sec, 0).toString('hex');
const vHex = (n: number) => encodeValue(ValueType.INT64, n).toString('hex');
/** What `batches()` must read from the small data set, whatever the path. */
const SMALL_EXPECTED = [
  [
    [tsHex(100), vHex(11), vHex(12), null, null],
    [tsHex(200), vHex(21), null, tsHex(300), vHex(23)],
    [null, null, null, null, null],
  ],
  [[tsHex(300), vHex(23)]],
];

test('script and pipeline paths return the same Feast cells', async () => {
  const s = await readHex(new RedisOnlineReader(client, project, { mode: 'script' }));
  const p = await readHex(new RedisOnlineReader(client, project, { mode: 'pipeline' }));
  assert.deepEqual(s, p);
  assert.deepEqual(s, SMALL_EXPECTED);
});

test('the script path recovers from NOSCRIPT (script cache flushed)', async () => {
  const reader = new RedisOnlineReader(client, project, { mode: 'script' });
  const before = await readHex(reader);
  await client.script('FLUSH');
  assert.deepEqual(await readHex(reader), before);
});

// ---------------------------------------------------------------------------------------------
// Helpers for the fast-lane tests.

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 5 ms for up to `ms`; returns its last value. */
async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await sleep(5);
  }
}

/** `p`, or a rejection naming `what` if it has not settled within `ms` (a hang is a failure). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const servers: RedisServerProcess[] = [];

/** A `redis-server` of our own on a free port (no persistence), killed in `after`. */
async function startRedis(extra: string[] = []): Promise<RedisServerProcess> {
  const server = await startRedisServer({ args: extra });
  servers.push(server);
  return server;
}

async function stopServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
}

const openClients: Redis[] = [];
function privateClient(port: number, extra: Record<string, unknown> = {}): Redis {
  const c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, ...extra });
  c.on('error', () => {}); // killed on purpose in some tests; ioredis reconnects
  openClients.push(c);
  return c;
}

const openLanes: RespLane[] = [];
function lane(c: Redis, port: number, name: string, extra: Partial<RedisConnectionSpec> & { timeoutMs?: number; onError?: (e: Error) => void } = {}): RespLane {
  const { timeoutMs = 2000, onError, ...specExtra } = extra;
  const spec: RedisConnectionSpec = { redisType: 'redis', hosts: [{ host: '127.0.0.1', port }], ...specExtra };
  const l = openFastLane(c, spec, { commandTimeoutMs: timeoutMs, connectionName: name, onError: onError ?? (() => {}) });
  openLanes.push(l);
  return l;
}

/** INFO commandstats calls of `cmd` (lower case) on the server `admin` is connected to. */
async function calls(admin: Redis, cmd: string): Promise<number> {
  return (await commandCalls(admin)).get(cmd) ?? 0;
}

/** CLIENT LIST entries named `name`. */
async function clientsNamed(admin: Redis, name: string): Promise<ClientInfo[]> {
  return (await clientList(admin)).filter((c) => c.name === name);
}

/**
 * Runs `read`, proving which connection and commands served it: the lane's connection is first
 * made to run a PING (so its last command is known), then the read; returns the commandstats
 * deltas of HMGET and HGETALL and the lane connection's last command afterwards.
 */
async function observed<T>(admin: Redis, l: RespLane, laneName: string, read: () => Promise<T>) {
  await l.send(encodeCommand(['PING']), 1, 0);
  const [before] = await clientsNamed(admin, laneName);
  assert.equal(before?.cmd, 'ping', 'the lane connection ran our PING');
  const h0 = await calls(admin, 'hmget');
  const g0 = await calls(admin, 'hgetall');
  const result = await read();
  const hmget = (await calls(admin, 'hmget')) - h0;
  const hgetall = (await calls(admin, 'hgetall')) - g0;
  const [afterRead] = await clientsNamed(admin, laneName);
  return { result, hmget, hgetall, laneCmd: afterRead?.cmd, laneId: afterRead?.id };
}

// ---------------------------------------------------------------------------------------------

test('fast lane on the shared Redis: same cells as the pipeline, HMGET and HGETALL layouts', async () => {
  const t = await redisTarget();
  const name = `platter-test-${project}`;
  const l = openFastLane(client, { redisType: 'redis', hosts: [{ host: t.host, port: t.port }] }, { commandTimeoutMs: 5000, connectionName: name });
  openLanes.push(l);
  try {
    assert.equal(await waitLane(l, 3000), true, 'lane handshake');
    const viaLane = new RedisOnlineReader(client, project, { lane: l });
    const viaPipeline = new RedisOnlineReader(client, project, { mode: 'pipeline' });

    assert.deepEqual(await readHex(viaLane), SMALL_EXPECTED);
    assert.deepEqual(await readHex(viaPipeline), SMALL_EXPECTED);

    // Other test files may share this Redis: only an increase that must come from us is asserted.
    const g0 = await calls(client, 'hgetall');
    assert.deepEqual(await readHex(viaLane, layoutABWhole, layoutBWhole), SMALL_EXPECTED);
    assert.ok((await calls(client, 'hgetall')) - g0 >= SMALL_KEYS, 'one HGETALL per key at least');
    assert.deepEqual(await readHex(viaPipeline, layoutABWhole, layoutBWhole), SMALL_EXPECTED);
  } finally {
    l.close();
  }
});

describe('fast lane on a private redis-server', () => {
  let port: number;
  let admin: Redis;
  let pclient: Redis;
  let main: RespLane;
  const MAIN = 'platter-main';

  before(async () => {
    // 128 entries: the small hashes are listpacks, the wide ones (301 fields) hashtables.
    ({ port } = await startRedis(['--hash-max-listpack-entries', '128']));
    admin = privateClient(port);
    pclient = privateClient(port);
    await pclient.ping();
    await seedSmall(pclient);
    main = lane(pclient, port, MAIN);
    assert.equal(await waitLane(main, 3000), true, 'main lane handshake');
  });

  after(async () => {
    for (const l of openLanes.splice(0)) l.close();
    for (const c of openClients.splice(0)) c.disconnect();
    await stopServers();
  });

  test('HMGET layout: same cells as the pipeline, one HMGET per key on the lane connection, no HGETALL', async () => {
    const reader = new RedisOnlineReader(pclient, project, { lane: main });
    const o = await observed(admin, main, `${MAIN}-lane`, () => readHex(reader));
    assert.deepEqual(o.result, SMALL_EXPECTED);
    assert.equal(o.hmget, SMALL_KEYS);
    assert.equal(o.hgetall, 0);
    assert.equal(o.laneCmd, 'hmget', 'the HMGETs ran on the lane connection');

    const pipe = new RedisOnlineReader(pclient, project, { mode: 'pipeline' });
    const p = await observed(admin, main, `${MAIN}-lane`, () => readHex(pipe));
    assert.deepEqual(p.result, o.result);
    assert.equal(p.laneCmd, 'ping', 'the pipeline did not use the lane');
  });

  test('storedFields == width: one HGETALL per key on the lane, fields placed by name, same cells as the pipeline', async () => {
    const reader = new RedisOnlineReader(pclient, project, { lane: main });
    const o = await observed(admin, main, `${MAIN}-lane`, () => readHex(reader, layoutABWhole, layoutBWhole));
    assert.deepEqual(o.result, SMALL_EXPECTED);
    assert.equal(o.hgetall, SMALL_KEYS);
    assert.equal(o.hmget, 0);
    assert.equal(o.laneCmd, 'hgetall');
    assert.equal(await pclient.object('ENCODING', key(2)), 'listpack');

    const pipe = new RedisOnlineReader(pclient, project, { mode: 'pipeline' });
    assert.deepEqual(await readHex(pipe, layoutABWhole, layoutBWhole), o.result);

    // One read mixing both: view_a+view_b by HMGET, view_b alone by HGETALL.
    const mixed = await observed(admin, main, `${MAIN}-lane`, () => readHex(reader, layoutAB, layoutBWhole));
    assert.deepEqual(mixed.result, SMALL_EXPECTED);
    assert.equal(mixed.hmget, 3);
    assert.equal(mixed.hgetall, 1);
  });

  test('a wide read spanning many socket chunks (205 keys x 301 fields, ~100-byte values): HMGET and HGETALL', async () => {
    const FEATURES = 300;
    const names = Array.from({ length: FEATURES }, (_, j) => `f${String(j).padStart(3, '0')}`);
    const wide = view('wide', names);
    // Slots deliberately not in field order: slot of feature j is (97 j + 5) mod 301, ts last.
    const slotOf = (j: number) => (j * 97 + 5) % (FEATURES + 1);
    const views = [{ view: wide, features: names, featureSlots: names.map((_, j) => slotOf(j)), tsSlot: slotOf(FEATURES) }];
    const hmgetLayout: GroupLayout = { width: FEATURES + 1, storedFields: 1000, views };
    const wholeLayout: GroupLayout = { width: FEATURES + 1, storedFields: FEATURES + 1, views };

    // Deterministic bytes (CR, LF, '$' and '*' included) of 88..108 bytes per value; some
    // features absent, some empty (Feast's None), some keys without a timestamp.
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const ids = Array.from({ length: 200 }, (_, i) => 1000 + i);
    const expected = new Map<number, (Buffer | null)[]>();
    const rows: SeedRow[] = ids.map((id, i) => {
      const cells: (Buffer | null)[] = new Array(FEATURES + 1).fill(null);
      const values: Record<string, Buffer> = {};
      names.forEach((n, j) => {
        if ((i + j) % 13 === 0) return;
        const v = (i * j) % 17 === 5 ? Buffer.alloc(0) : encodeValue(ValueType.BYTES, Buffer.from(Array.from({ length: 85 + ((i * 7 + j) % 21) }, rnd)));
        values[n] = v;
        cells[slotOf(j)] = v;
      });
      const ts = i % 50 === 7 ? null : { seconds: 1_700_000_000 + i };
      if (ts) cells[slotOf(FEATURES)] = encodeTimestamp(ts.seconds, 0);
      expected.set(id, cells);
      return { entity: { driver_id: { type: 4, value: id } }, ts, values };
    });
    await seedFeastRedis(pclient, project, 'wide', rows);
    assert.equal(await pclient.object('ENCODING', key(1000)), 'hashtable');

    // Missing keys at both ends and in the middle.
    const readIds = [1, ...ids.slice(0, 100), 2, ...ids.slice(100), 3, 4];
    const keys = readIds.map(key);
    const want = readIds.map((id) => expected.get(id) ?? new Array<Buffer | null>(FEATURES + 1).fill(null));

    const compare = (got: (Buffer | null)[][], what: string) => {
      assert.equal(got.length, want.length);
      for (let k = 0; k < want.length; k++) {
        for (let s = 0; s <= FEATURES; s++) {
          const g = got[k]![s] ?? null;
          const w = want[k]![s] ?? null;
          if (g === null && w === null) continue;
          if (g === null || w === null || !g.equals(w)) {
            assert.fail(`${what}: key ${readIds[k]} slot ${s}: got ${g?.toString('hex') ?? 'nil'}, want ${w?.toString('hex') ?? 'nil'}`);
          }
        }
      }
    };

    const reader = new RedisOnlineReader(pclient, project, { lane: main });
    const pipe = new RedisOnlineReader(pclient, project, { mode: 'pipeline' });

    // Count the chunks the lane's parser is fed (the parser itself is not replaced).
    const feed = RespReplyParser.prototype.feed;
    let chunks = 0;
    RespReplyParser.prototype.feed = function (this: RespReplyParser, ...args: Parameters<typeof feed>) {
      chunks++;
      return feed.apply(this, args);
    };
    try {
      for (const [layout, cmd] of [
        [hmgetLayout, 'hmget'],
        [wholeLayout, 'hgetall'],
      ] as const) {
        const bs: ReadBatch[] = [{ layout, prepared: reader.prepare(layout), keys }];
        chunks = 0;
        const o = await observed(admin, main, `${MAIN}-lane`, () => reader.read(bs));
        assert.equal(cmd === 'hmget' ? o.hmget : o.hgetall, keys.length, `one ${cmd} per key`);
        assert.equal(cmd === 'hmget' ? o.hgetall : o.hmget, 0);
        assert.equal(o.laneCmd, cmd);
        assert.ok(o.result.data.length > 1_000_000, `reply bytes ${o.result.data.length}`);
        assert.ok(chunks > 10, `the reply arrived in ${chunks} chunks`);
        compare(rowsFromCells(bs, o.result)[0]!, `lane ${cmd}`);

        const pbs: ReadBatch[] = [{ layout, prepared: pipe.prepare(layout), keys }];
        compare(rowsFromCells(pbs, await pipe.read(pbs))[0]!, `pipeline (${cmd} layout)`);
      }

      // Wide HGETALL batch and the small HMGET batch in one read.
      const bs: ReadBatch[] = [
        { layout: wholeLayout, prepared: reader.prepare(wholeLayout), keys },
        ...batches(reader).slice(0, 1),
      ];
      const cells = await reader.read(bs);
      compare(rowsFromCells(bs, cells)[0]!, 'lane mixed');
      assert.deepEqual(hexCells(bs, cells)[1], SMALL_EXPECTED[0]);
    } finally {
      RespReplyParser.prototype.feed = feed;
    }
  });

  test('an error reply (WRONGTYPE) fails the read with the message, and the next read is correct on the same connection', async () => {
    const stringKey = key(77);
    await pclient.set(stringKey, 'not a hash');
    const reader = new RedisOnlineReader(pclient, project, { lane: main });
    const [before] = await clientsNamed(admin, `${MAIN}-lane`);
    for (const [ab, bOnly] of [
      [layoutAB, layoutB],
      [layoutABWhole, layoutBWhole],
    ] as const) {
      const bs: ReadBatch[] = [
        { layout: ab, prepared: reader.prepare(ab), keys: [key(1), stringKey, key(2)] },
        { layout: bOnly, prepared: reader.prepare(bOnly), keys: [key(2)] },
      ];
      await assert.rejects(reader.read(bs), (e: unknown) => {
        assert.ok(e instanceof PlatterError);
        assert.equal(e.code, 'ONLINE_STORE_UNAVAILABLE');
        assert.match(e.message, /WRONGTYPE/);
        return true;
      });
      assert.deepEqual(await readHex(reader, ab, bOnly), SMALL_EXPECTED);
    }
    const [afterReads] = await clientsNamed(admin, `${MAIN}-lane`);
    assert.equal(afterReads?.id, before?.id, 'no reconnect: the stream stayed aligned');
    await pclient.del(stringKey);
  });

  test('SELECT: a lane for db 3 reads db 3', async () => {
    const c3 = privateClient(port, { db: 3 });
    await c3.ping();
    await seedSmall(c3);
    const l = lane(c3, port, 'platter-db3', { db: 3 });
    assert.equal(await waitLane(l, 3000), true);
    assert.deepEqual(await readHex(new RedisOnlineReader(c3, project, { lane: l })), SMALL_EXPECTED);
    await c3.flushdb();
    // Same lane, now-empty db 3: proves the reads above did not come from db 0.
    assert.deepEqual(await readHex(new RedisOnlineReader(c3, project, { lane: l })), [
      [Array(5).fill(null), Array(5).fill(null), Array(5).fill(null)],
      [Array(2).fill(null)],
    ]);
    l.close();
  });

  test('reconnect: a killed lane connection is replaced within seconds; the read right after it does not hang', async () => {
    const NAME = 'platter-reconnect';
    const errors: Error[] = [];
    const l = lane(pclient, port, NAME, { onError: (e) => errors.push(e) });
    assert.equal(await waitLane(l, 3000), true);
    const reader = new RedisOnlineReader(pclient, project, { lane: l });
    assert.deepEqual(await readHex(reader), SMALL_EXPECTED);

    const [first] = await clientsNamed(admin, `${NAME}-lane`);
    assert.ok(first, 'lane connection listed');
    await admin.client('KILL', 'ID', first.id!);

    // Right after the kill the lane may not have noticed yet: the read either falls back to
    // ioredis (correct cells) or fails with a clear error; it must settle either way.
    try {
      assert.deepEqual(await within(readHex(reader), 5000, 'the read after the kill'), SMALL_EXPECTED);
    } catch (e) {
      assert.ok(e instanceof PlatterError, String(e));
      assert.match(e.message, /connection closed|not connected|timed out/);
    }

    assert.equal(await waitLane(l, 3000), true, 'lane ready again');
    const now = await clientsNamed(admin, `${NAME}-lane`);
    assert.equal(now.length, 1, 'exactly one lane connection');
    assert.notEqual(now[0]!.id, first.id, 'a new connection');
    const o = await observed(admin, l, `${NAME}-lane`, () => readHex(reader));
    assert.deepEqual(o.result, SMALL_EXPECTED);
    assert.equal(o.laneCmd, 'hmget', 'read through the new lane connection');
    l.close();
  });

  test('reconnect when ioredis reconnects too: still exactly one lane connection, no leaked socket', async () => {
    // Both connections killed at once; this ioredis client reconnects after 10 ms, i.e. while the
    // lane is still waiting out its own 50 ms reconnect backoff, and tells it to follow.
    const NAME = 'platter-both';
    const c = privateClient(port, { retryStrategy: () => 10, connectionName: NAME });
    await c.ping();
    const l = lane(c, port, NAME);
    assert.equal(await waitLane(l, 3000), true);
    const [io] = await clientsNamed(admin, NAME);
    const [ln] = await clientsNamed(admin, `${NAME}-lane`);
    assert.ok(io && ln);
    const reconnected = new Promise<void>((resolve) => c.once('reconnecting', () => c.once('ready', () => resolve())));
    await admin.multi().client('KILL', 'ID', io.id!).client('KILL', 'ID', ln.id!).exec();

    await within(reconnected, 3000, 'the ioredis reconnect');
    assert.equal(await waitLane(l, 3000), true, 'lane back');
    await sleep(300); // past the lane's backoff: a stale reconnect timer would have fired by now
    const lanes = await clientsNamed(admin, `${NAME}-lane`);
    assert.equal(lanes.length, 1, `lane connections: ${JSON.stringify(lanes)}`);
    assert.deepEqual(await readHex(new RedisOnlineReader(c, project, { lane: l })), SMALL_EXPECTED);

    l.close();
    assert.equal(await until(async () => (await clientsNamed(admin, `${NAME}-lane`)).length === 0, 2000), true, 'close() left a lane connection open');
  });

  test('command timeout: a read Redis does not answer in time fails with "timed out" before the pause ends; the lane stays aligned', async () => {
    const NAME = 'platter-timeout';
    const l = lane(pclient, port, NAME, { timeoutMs: 100 });
    assert.equal(await waitLane(l, 3000), true);
    const reader = new RedisOnlineReader(pclient, project, { lane: l });
    const [before] = await clientsNamed(admin, `${NAME}-lane`);

    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    const order: string[] = [];
    // Answered only once the pause is over: marks its end.
    const pauseOver = admin.ping().then(() => order.push('pause over'));
    const expectTimeout = (p: Promise<unknown>, tag: string) =>
      assert.rejects(p, (e: unknown) => {
        order.push(tag);
        assert.ok(e instanceof PlatterError);
        assert.equal(e.code, 'ONLINE_STORE_TIMEOUT');
        assert.match(e.message, /timed out/);
        return true;
      });
    // Two reads in flight, HMGET and HGETALL: both replies come after the pause and are skipped.
    const r1 = expectTimeout(readHex(reader), 'read 1');
    const r2 = expectTimeout(readHex(reader, layoutABWhole, layoutBWhole), 'read 2');
    await within(Promise.all([r1, r2, pauseOver]), 5000, 'the paused reads');
    assert.deepEqual([...order.slice(0, 2).sort(), order[2]], ['read 1', 'read 2', 'pause over'], 'both reads failed before the pause ended');

    assert.equal(l.ready, true);
    assert.deepEqual(await readHex(reader), SMALL_EXPECTED);
    assert.deepEqual(await readHex(reader, layoutABWhole, layoutBWhole), SMALL_EXPECTED);
    const o = await observed(admin, l, `${NAME}-lane`, () => readHex(reader));
    assert.deepEqual(o.result, SMALL_EXPECTED);
    assert.equal(o.laneCmd, 'hmget');
    assert.equal(o.laneId, before?.id, 'same connection: no reconnect was needed');
    l.close();

    // A pause longer than the main lane's sweep period (250 ms) but well inside its 2000 ms
    // timeout: the read waits it out and succeeds (batches are failed at their deadline, not early).
    await admin.call('CLIENT', 'PAUSE', '400', 'ALL');
    const slow = within(readHex(new RedisOnlineReader(pclient, project, { lane: main })), 5000, 'the read during a short pause');
    await admin.ping(); // returns once the pause is over
    assert.deepEqual(await slow, SMALL_EXPECTED);
  });

  test('reads issued while a write is unanswered (server paused) wait for it, then all answer right, in any mix', async () => {
    const reader = new RedisOnlineReader(pclient, project, { lane: main });
    await admin.call('CLIENT', 'PAUSE', '300', 'ALL');
    // The first read is written at once and stays unanswered for the pause; the next 60, issued
    // over several event-loop turns meanwhile, queue behind it and go out when its replies are in.
    const first = readHex(reader);
    const later: Promise<(string | null)[][][]>[] = [];
    for (let turn = 0; turn < 6; turn++) {
      await sleep(20);
      for (let i = 0; i < 10; i++) later.push(i % 2 === 0 ? readHex(reader) : readHex(reader, layoutABWhole, layoutBWhole));
    }
    const all = await within(Promise.all([first, ...later]), 5000, 'reads queued behind a paused write');
    for (const r of all) assert.deepEqual(r, SMALL_EXPECTED);
    // And the lane is not stuck waiting afterwards: a read right after is answered promptly.
    assert.deepEqual(await within(readHex(reader), 1000, 'the read after'), SMALL_EXPECTED);
  });

  test('handshake with a wrong password: never ready, onError names the handshake, reads fall back, nothing unhandled', async () => {
    const { port: rport } = await startRedis(['--requirepass', 's3cret']);
    const c = privateClient(rport, { password: 's3cret' });
    await c.ping();
    await seedSmall(c);

    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    try {
      const errors: Error[] = [];
      const bad = lane(c, rport, 'platter-badpass', { password: 'wrong', onError: (e) => errors.push(e) });
      // The first attempt fails, then at least one retry (50 ms backoff) fails too.
      assert.equal(await until(() => errors.length >= 2, 3000), true, `errors: ${errors.map((e) => e.message).join('; ')}`);
      assert.equal(bad.ready, false);
      for (const e of errors) {
        assert.match(e.message, /fast lane handshake failed/);
        assert.match(e.message, /WRONGPASS|invalid password/i);
      }
      await assert.rejects(bad.send(encodeCommand(['PING']), 1, 0), /not connected/);
      // The reader goes through ioredis meanwhile.
      assert.deepEqual(await readHex(new RedisOnlineReader(c, project, { lane: bad })), SMALL_EXPECTED);

      bad.close();
      const afterClose = errors.length;
      await sleep(300);
      assert.equal(errors.length, afterClose, 'no reconnect attempts after close()');
      assert.equal(bad.ready, false);

      // Control: the right credentials (with the ACL user name) do get through the same server.
      const good = lane(c, rport, 'platter-goodpass', { username: 'default', password: 's3cret' });
      assert.equal(await waitLane(good, 3000), true);
      const admin2 = privateClient(rport, { password: 's3cret' });
      const o = await observed(admin2, good, 'platter-goodpass-lane', () => readHex(new RedisOnlineReader(c, project, { lane: good })));
      assert.deepEqual(o.result, SMALL_EXPECTED);
      assert.equal(o.laneCmd, 'hmget');
      good.close();

      await sleep(20);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUnhandled);
    }
  });

  test('closing every lane leaves no lane connection open', async () => {
    for (const l of openLanes) l.close();
    const gone = await until(async () => {
      const list = (await admin.client('LIST')) as string;
      return !/ name=\S*-lane /.test(list);
    }, 2000);
    assert.equal(gone, true, String(await admin.client('LIST')));
  });
});
