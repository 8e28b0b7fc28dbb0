/**
 * Redis Cluster, for real: a private cluster of 3 masters and 3 replicas (`redis-server
 * --cluster-enabled yes` on free ports, joined by `redis-cli --cluster create`).
 *
 * - Slot routing: our key-slot function against the cluster's own `CLUSTER KEYSLOT` on binary keys.
 * - The writer: keys land on every master (a cluster pipeline cannot span nodes), newer-wins holds.
 * - The reader's lanes (src/online/redis/cluster-lanes.ts): the same cells as ioredis, and proof
 *   from the servers that the lanes did the reading, on the replicas (`scaleReads: slave`), one
 *   HMGET or HGETALL per key and no retries.
 * - A replica killed, then a master killed: reads go on, right, through another node of the slot
 *   (last: they change the cluster).
 * - A slot moved to another master while serving: answers stay right (a MOVED on a lane sends the
 *   read through ioredis) and the lanes then follow ioredis's new slot map.
 * - `platter serve` with `redis_type: redis_cluster` answering over HTTP.
 *
 * Skipped, not failed, when `redis-server` or `redis-cli` is not installed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis, type Cluster } from 'ioredis';
import { serializeEntityKey } from '../../src/encoding/entity-key.js';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { encodeTimestamp } from '../../src/encoding/timestamp.js';
import { ValueType } from '../../src/encoding/value-type.js';
import { keySlot } from '../../src/online/redis/key-slot.js';
import { openClusterLanes, openRedis, waitLane, waitReady, type RedisConnectionSpec } from '../../src/online/redis/connect.js';
import type { ClusterLanes } from '../../src/online/redis/cluster-lanes.js';
import { RedisOnlineReader } from '../../src/online/redis/reader.js';
import { writeRedisRows, type OnlineWriteRow } from '../../src/online/redis/writer.js';
import { rowsFromCells, type GroupLayout, type ReadBatch } from '../../src/online/types.js';
import type { RepoDefinition } from '../../src/registry/definition.js';
import { int64DriverView } from '../helpers/views.js';
import { clientList, commandCalls } from '../helpers/redis-admin.js';
import { missingRedisTools, startRedisCluster, type RedisClusterProcess } from '../helpers/redis-server.js';
import { makeRepo, type TempRepo } from '../helpers/repo.js';
import { startServe, type TestServer } from '../helpers/start-serve.js';
import { uniqueProject } from '../helpers/services.js';
import { EPOCH, entityColumn, featureColumn, responseText } from '../helpers/feast-json.js';

const skip = missingRedisTools() ?? false;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

const project = uniqueProject('cluster');
const LANE_NAME = 'platter-cluster-test';
const MOVE_LANE_NAME = 'platter-cluster-move';
const IDS = Array.from({ length: 300 }, (_, i) => 1000 + i);
const key = (id: number) => Buffer.concat([serializeEntityKey(['driver_id'], [{ type: 4, value: id }], 3), Buffer.from(project)]);
const entityKey = (id: number) => serializeEntityKey(['driver_id'], [{ type: 4, value: id }], 3);

const view = (name: string, features: string[]) => int64DriverView(project, name, features);
const stats = view('driver_stats', ['trips', 'rank']);
/** x and ts of driver_stats: 2 of the hash's 3 fields, read with HMGET (width 2 x 2 < 100). */
const hmgetLayout: GroupLayout = { width: 2, storedFields: 100, views: [{ view: stats, features: ['trips'], featureSlots: [1], tsSlot: 0 }] };
/** The whole hash (3 fields): read with HGETALL. */
const hgetallLayout: GroupLayout = {
  width: 3,
  storedFields: 3,
  views: [{ view: stats, features: ['trips', 'rank'], featureSlots: [1, 2], tsSlot: 0 }],
};

const rowFor = (id: number, seconds: number, trips: number): OnlineWriteRow => ({
  entityKey: entityKey(id),
  values: new Map([
    ['trips', encodeValue(ValueType.INT64, trips)],
    ['rank', encodeValue(ValueType.INT64, id % 7)],
  ]),
  eventTs: { seconds, nanos: 0 },
});

/** What each driver holds after the writes below: ids < 1150 were rewritten at t=200. */
const expectedTrips = (id: number) => (id < 1150 ? id * 2 : id);
const expectedTs = (id: number) => (id < 1150 ? 200 : 100);
const hex = (b: Buffer | null) => (b === null ? null : b.toString('hex'));

describe('Redis Cluster (private, 3 masters + 3 replicas)', { skip }, () => {
  let cluster: RedisClusterProcess;
  let client: Cluster;
  let spec: RedisConnectionSpec;
  /** One plain connection per node, for CLUSTER/INFO/CLIENT commands. */
  let admins: { port: number; admin: Redis; role: 'master' | 'replica'; masterPort: number }[] = [];
  const lanesToClose: ClusterLanes[] = [];

  before(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    // Replica reads (`read_from_replicas=true` in Feast's connection string); the serve tests
    // below also run the default, master reads.
    spec = { redisType: 'redis_cluster', hosts: cluster.seeds, readFromReplicas: true };
    client = openRedis(spec, { commandTimeoutMs: 5000, connectionName: 'platter-cluster-writer' }) as Cluster;
    client.on('error', () => {});
    await waitReady(client, 10_000);
    for (const n of cluster.nodes) {
      const admin = new Redis({ host: n.host, port: n.port, maxRetriesPerRequest: 1 });
      admin.on('error', () => {}); // the last test kills a node
      const info = await admin.info('replication');
      const replica = /role:slave/.test(info);
      admins.push({
        port: n.port,
        admin,
        role: replica ? 'replica' : 'master',
        masterPort: replica ? Number(/master_port:(\d+)/.exec(info)![1]) : n.port,
      });
    }
  });

  after(async () => {
    for (const l of lanesToClose) l.close();
    client?.disconnect();
    for (const a of admins) a.admin.disconnect();
    admins = [];
    await cluster?.stop();
  });

  const masters = () => admins.filter((a) => a.role === 'master');
  const replicas = () => admins.filter((a) => a.role === 'replica');
  const nodeOf = (port: number) => admins.find((a) => a.port === port)!;

  /** Every replica has applied everything its master has (reads go to replicas). */
  async function replicasSynced(): Promise<void> {
    await until(
      async () => {
        for (const r of replicas()) {
          const mine = await r.admin.info('replication');
          const theirs = await nodeOf(r.masterPort).admin.info('replication');
          const have = Number(/slave_repl_offset:(\d+)/.exec(mine)?.[1] ?? -1);
          const want = Number(/master_repl_offset:(\d+)/.exec(theirs)?.[1] ?? -2);
          if (!/master_link_status:up/.test(mine) || have !== want) return false;
        }
        return true;
      },
      10_000,
      'replicas caught up with their masters',
    );
  }

  async function hmgetCalls(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const a of admins) out.set(a.port, (await commandCalls(a.admin)).get('hmget') ?? 0);
    return out;
  }

  /** HMGETs each live node answered while `read` ran, and their sum. */
  async function hmgetsDuring(read: () => Promise<unknown>): Promise<{ total: number; on: (port: number) => number }> {
    const before = await hmgetCalls();
    await read();
    const after = await hmgetCalls();
    let total = 0;
    for (const [port, n] of after) total += n - before.get(port)!;
    return { total, on: (port) => after.get(port)! - before.get(port)! };
  }

  /** SIGKILLs a node (its admin connection closed first) and gives the lanes time to see it. */
  async function kill(node: (typeof admins)[number]): Promise<void> {
    node.admin.disconnect();
    admins = admins.filter((a) => a !== node);
    await cluster.nodes.find((n) => n.port === node.port)!.stop();
    await sleep(200);
  }

  /** Lanes whose connections are named `<name>-lane`. */
  async function openLanes(name: string): Promise<ClusterLanes> {
    const lanes = openClusterLanes(client, spec, { commandTimeoutMs: 5000, connectionName: name });
    lanesToClose.push(lanes);
    assert.equal(await waitLane(lanes, 5000), true, 'every node lane connected');
    return lanes;
  }

  function batchesOf(reader: RedisOnlineReader, layout: GroupLayout, ids: readonly number[]): ReadBatch[] {
    return [
      { layout, prepared: reader.prepare(layout), keys: ids.map(key) },
      // A second group reading one key again: cells of several batches from several nodes.
      { layout: hmgetLayout, prepared: reader.prepare(hmgetLayout), keys: [key(ids[0]!)] },
    ];
  }

  async function readHex(reader: RedisOnlineReader, layout: GroupLayout, ids: readonly number[]) {
    const bs = batchesOf(reader, layout, ids);
    return rowsFromCells(bs, await reader.read(bs)).map((g) => g.map((r) => r.map(hex)));
  }

  function expectedHex(layout: GroupLayout, ids: readonly number[]) {
    const cells = (id: number, l: GroupLayout) => {
      if (id >= 5000) return new Array(l.width).fill(null);
      const c: (string | null)[] = [encodeTimestamp(expectedTs(id), 0).toString('hex'), encodeValue(ValueType.INT64, expectedTrips(id)).toString('hex')];
      if (l.width === 3) c.push(encodeValue(ValueType.INT64, id % 7).toString('hex'));
      return c;
    };
    return [ids.map((id) => cells(id, layout)), [cells(ids[0]!, hmgetLayout)]];
  }

  /**
   * Moves `slot` to another master by hand, as `redis-cli --cluster reshard` does, without telling
   * the test's clients: their slot maps are stale until a node answers MOVED.
   */
  async function moveSlot(slot: number) {
    const owners = await Promise.all(masters().map(async (m) => ({ m, id: (await m.admin.call('CLUSTER', 'MYID')) as string })));
    let from: (typeof owners)[number] | undefined;
    for (const x of owners) {
      const owned = (await x.m.admin.call('CLUSTER', 'COUNTKEYSINSLOT', slot)) as number;
      if (owned > 0) from = x;
    }
    assert.ok(from, `a master owns slot ${slot}`);
    const to = owners.find((x) => x !== from)!;

    // What `redis-cli --cluster reshard` does for one slot.
    await to.m.admin.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
    await from.m.admin.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
    for (;;) {
      const keys = (await from.m.admin.callBuffer('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as Buffer[];
      if (keys.length === 0) break;
      await from.m.admin.callBuffer('MIGRATE', '127.0.0.1', to.m.port, '', 0, 5000, 'KEYS', ...keys);
    }
    for (const x of owners) await x.m.admin.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
    await until(
      async () => {
        for (const a of admins) {
          const slots = (await a.admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
          const range = slots.find(([lo, hi]) => lo <= slot && slot <= hi);
          if (range?.[2][1] !== to.m.port) return false;
        }
        return true;
      },
      10_000,
      'every node agrees on the slot move',
    );
    return { from, to };
  }

  it('our key slot equals CLUSTER KEYSLOT on binary keys, hash tags included', async () => {
    const admin = admins[0]!.admin;
    const keys: Buffer[] = [
      Buffer.from('123456789'),
      Buffer.from('{user1000}.following'),
      Buffer.from('foo{}{bar}'),
      Buffer.from('foo{{bar}}zap'),
      Buffer.from('foo{bar}{zap}'),
      Buffer.from('{'),
      Buffer.from('}{'),
      Buffer.from('a{b'),
      key(1000),
    ];
    for (let i = 0; i < 300; i++) {
      const k = randomBytes(1 + (i % 40));
      // Put braces in about half of them, at random places.
      if (i % 2 === 0) k[i % k.length] = 0x7b;
      if (i % 4 === 0) k[(i * 7) % k.length] = 0x7d;
      keys.push(k);
    }
    for (const k of keys) {
      assert.equal(keySlot(k), (await admin.call('CLUSTER', 'KEYSLOT', k)) as number, `key ${k.toString('hex')}`);
    }
  });

  it('the writer spreads keys over every master and keeps newer-wins across nodes', async () => {
    const opts = { keyTtlSeconds: null, skipDedup: false };
    assert.deepEqual(await writeRedisRows(client, project, 'driver_stats', IDS.map((id) => rowFor(id, 100, id)), opts), { written: 300, skipped: 0 });
    // Older rows lose, newer ones win, whatever node each key lives on.
    assert.deepEqual(await writeRedisRows(client, project, 'driver_stats', IDS.map((id) => rowFor(id, 50, -1)), opts), { written: 0, skipped: 300 });
    const newer = IDS.filter((id) => id < 1150).map((id) => rowFor(id, 200, id * 2));
    assert.deepEqual(await writeRedisRows(client, project, 'driver_stats', newer, opts), { written: 150, skipped: 0 });
    let total = 0;
    for (const m of masters()) {
      const n = await m.admin.dbsize();
      assert.ok(n > 50, `master ${m.port} holds ${n} of 300 keys`);
      total += n;
    }
    assert.equal(total, 300);
    await replicasSynced();
  });

  it('lanes read every key from the replica serving its slot: same cells as ioredis, one command per key', async () => {
    const lanes = await openLanes(LANE_NAME);
    const viaLanes = new RedisOnlineReader(client, project, { clusterLanes: lanes });
    const viaIoredis = new RedisOnlineReader(client, project, { mode: 'pipeline' });
    const ids = [...IDS, 9001, 9002]; // two drivers never written

    for (const layout of [hmgetLayout, hgetallLayout]) {
      const want = expectedHex(layout, ids);
      const cmd = layout === hmgetLayout ? 'hmget' : 'hgetall';
      const before = await Promise.all(admins.map(async (a) => (await commandCalls(a.admin)).get(cmd) ?? 0));
      assert.deepEqual(await readHex(viaLanes, layout, ids), want);
      const after = await Promise.all(admins.map(async (a) => (await commandCalls(a.admin)).get(cmd) ?? 0));
      const delta = after.map((n, i) => n - before[i]!);
      // Only replicas answered, and exactly once per key (no MOVED and no second read via ioredis);
      // one more HMGET for the second batch's key.
      admins.forEach((a, i) => {
        if (a.role === 'master') assert.equal(delta[i], 0, `master ${a.port} answered ${delta[i]} ${cmd}s`);
        else assert.ok(delta[i]! > 0, `replica ${a.port} answered no ${cmd}`);
      });
      const extraHmget = cmd === 'hmget' ? 1 : 0;
      assert.equal(delta.reduce((s, n) => s + n, 0), ids.length + extraHmget, `${cmd} per node: ${delta.join(', ')}`);
      for (const r of replicas()) {
        const laneConns = (await clientList(r.admin)).filter((c) => c.name === `${LANE_NAME}-lane`);
        assert.equal(laneConns.length, 1, `one lane connection on replica ${r.port}`);
        assert.match(laneConns[0]!.cmd!, /^(hmget|hgetall)$/);
      }
      // Masters have lanes too (the way around a replica that is down), which did not read.
      for (const m of masters()) {
        const idle = (await clientList(m.admin)).filter((c) => c.name === `${LANE_NAME}-lane`);
        assert.equal(idle.length, 1, `one lane on master ${m.port}`);
        assert.doesNotMatch(idle[0]!.cmd!, /^(hmget|hgetall)$/, `master ${m.port}'s lane read`);
      }

      assert.deepEqual(await readHex(viaIoredis, layout, ids), want, 'ioredis path agrees');
    }
  });

  it('a slot moved to another master: reads stay right (MOVED -> ioredis), then the lanes follow the new map', async () => {
    const lanes = await openLanes(MOVE_LANE_NAME);
    const reader = new RedisOnlineReader(client, project, { clusterLanes: lanes });
    const id = IDS[7]!;
    const slot = keySlot(key(id));
    const { to } = await moveSlot(slot);
    await replicasSynced();

    // The lanes still route the slot to the old master's replica, which answers MOVED: the read
    // must still return the right cells.
    const want = expectedHex(hmgetLayout, IDS);
    const { total: served } = await hmgetsDuring(async () => assert.deepEqual(await readHex(reader, hmgetLayout, IDS), want));
    // The lanes' HMGETs of unmoved slots, then all 301 again through ioredis: more than one read's worth.
    assert.ok(served > IDS.length + 1, `the read fell back to ioredis after the MOVED (${served} HMGETs)`);

    // ioredis refreshes its map after the MOVED; the lanes follow. Then a read of the moved key
    // is one HMGET on the new owner's replica and nothing anywhere else.
    const newReplica = replicas().find((r) => r.masterPort === to.m.port)!;
    await until(
      async () => {
        const bs = [{ layout: hmgetLayout, prepared: reader.prepare(hmgetLayout), keys: [key(id)] }];
        const calls = await hmgetsDuring(async () => {
          const got = rowsFromCells(bs, await reader.read(bs)).map((g) => g.map((r) => r.map(hex)));
          assert.deepEqual(got, [[expectedHex(hmgetLayout, [id])[0]![0]]]);
        });
        return calls.total === 1 && calls.on(newReplica.port) === 1;
      },
      10_000,
      'the moved key read once, by the lane on the new owner\'s replica',
    );
    const conn = (await clientList(newReplica.admin)).find((c) => c.name === `${MOVE_LANE_NAME}-lane`);
    assert.equal(conn?.cmd, 'hmget');
  });

  it('the writer, on a slot moved behind its back: one pipeline per node, the moved keys again through redirects', async () => {
    // Ids outside IDS (the serve tests below read IDS): one key to move, fifty more on every master.
    const moved = 5000;
    const others = Array.from({ length: 50 }, (_, i) => 5001 + i);
    const opts = { keyTtlSeconds: 3600, skipDedup: false };
    assert.deepEqual(await writeRedisRows(client, project, 'driver_stats', [moved, ...others].map((id) => rowFor(id, 100, 1)), opts), { written: 51, skipped: 0 });
    const { to } = await moveSlot(keySlot(key(moved)));
    // The client's map still names the old owner: its pipeline gets MOVED for this key (the HMGET
    // of the newer-wins check and the HSET), the rest go through in their nodes' pipelines.
    const rows = [moved, ...others].map((id) => rowFor(id, 300, 7));
    assert.deepEqual(await writeRedisRows(client, project, 'driver_stats', rows, opts), { written: 51, skipped: 0 });
    assert.equal(await to.m.admin.hlen(key(moved)), 3, 'two features and the timestamp on the new owner');
    const ts = await to.m.admin.hgetBuffer(key(moved), '_ts:driver_stats');
    assert.equal(ts?.toString('hex'), encodeTimestamp(300, 0).toString('hex'));
    assert.ok((await to.m.admin.ttl(key(moved))) > 0, 'EXPIRE followed its key');
    // And the newer-wins check still reads the moved key: an older row is skipped.
    assert.deepEqual(await writeRedisRows(client, project, 'driver_stats', [rowFor(moved, 200, 9)], opts), { written: 0, skipped: 1 });
    for (const id of others) {
      const ts = await client.hgetBuffer(key(id), '_ts:driver_stats');
      assert.equal(ts?.toString('hex'), encodeTimestamp(300, 0).toString('hex'), `driver ${id}`);
    }
  });

  for (const mode of [
    { label: 'default: reads on masters, as Feast', option: '', readers: 'master' as const },
    { label: 'read_from_replicas=true: reads on replicas', option: ',read_from_replicas=true', readers: 'replica' as const },
  ]) {
    describe(`platter serve with redis_type: redis_cluster (${mode.label})`, () => {
      let repo: TempRepo;
      let server: TestServer;
      const LANE = 'platter-serve-lane';
      const serveLanes = async (a: (typeof admins)[number]) => (await clientList(a.admin)).filter((c) => c.name === LANE);

      before(async () => {
        // The other mode's server has closed: wait until its lane connections are gone.
        await until(async () => (await Promise.all(admins.map(serveLanes))).every((l) => l.length === 0), 5000, 'no serve lanes left');
        const def: RepoDefinition = {
          project,
          entities: [{ name: 'driver', joinKey: 'driver_id', valueType: 'INT64' }],
          featureViews: [
            {
              name: 'driver_stats',
              entities: ['driver'],
              features: [
                { name: 'trips', valueType: 'INT64' },
                { name: 'rank', valueType: 'INT64' },
              ],
            },
          ],
        };
        const yaml = [
          `project: ${project}`,
          'provider: local',
          'registry:',
          '  path: data/registry.db',
          'online_store:',
          '  type: redis',
          '  redis_type: redis_cluster',
          `  connection_string: "${cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',')}${mode.option}"`,
          'entity_key_serialization_version: 3',
        ].join('\n');
        repo = makeRepo(def, yaml);
        server = await startServe(repo.dir);
      });

      after(async () => {
        await server?.close();
        repo?.remove();
      });

      it('answers over HTTP with the values the writer stored on three masters, read by lanes on the configured nodes', async () => {
        const ids = [...IDS.slice(0, 40), 9001];
        const res = await server.post('/get-online-features', { features: ['driver_stats:trips'], entities: { driver_id: ids } });
        assert.equal(res.status, 200, res.text);
        const ts = (id: number) => (id >= 5000 ? EPOCH : new Date(expectedTs(id) * 1000).toISOString().replace('.000Z', 'Z'));
        assert.equal(
          res.text,
          responseText(
            ['driver_id', 'trips'],
            [
              entityColumn(ids.map(String)),
              featureColumn(
                ids.map((id) => (id >= 5000 ? 'null' : String(expectedTrips(id)))),
                ids.map((id) => (id >= 5000 ? 'NOT_FOUND' : 'PRESENT')),
                ids.map(ts),
              ),
            ],
          ),
        );
        // 40 keys land on every master's slots: each node of the configured role read through
        // serve's lane; no node of the other role did.
        for (const a of admins) {
          const lanes = await serveLanes(a);
          const read = lanes.some((c) => c.cmd === 'hmget' || c.cmd === 'hgetall'); // 2 of 3 fields: HGETALL
          if (a.role === mode.readers) assert.ok(read, `${a.role} ${a.port}: serve's lane did not read (${JSON.stringify(lanes)})`);
          else assert.ok(!read, `${a.role} ${a.port} was read, expected only ${mode.readers}s`);
        }
      });
    });
  }

  it('a replica killed: every read still answers right, through its master\'s lane, with no second read', async () => {
    const lanes = await openLanes('platter-cluster-kill');
    const reader = new RedisOnlineReader(client, project, { clusterLanes: lanes });
    const want = expectedHex(hmgetLayout, IDS);
    assert.deepEqual(await readHex(reader, hmgetLayout, IDS), want);

    const victim = replicas()[0]!;
    const master = nodeOf(victim.masterPort);
    await kill(victim);

    const calls = await hmgetsDuring(async () => assert.deepEqual(await readHex(reader, hmgetLayout, IDS), want));
    assert.equal(calls.total, IDS.length + 1, 'one HMGET per key (and one for the second batch): no fallback read');
    assert.ok(calls.on(master.port) > 0, `the dead replica's master ${master.port} answered its slots`);
  });
  it('a master killed (master reads, the default): every read still answers right, through its replica\'s lane', async () => {
    const masterSpec: RedisConnectionSpec = { ...spec, readFromReplicas: false };
    const mclient = openRedis(masterSpec, { commandTimeoutMs: 5000, connectionName: 'platter-cluster-mreader' }) as Cluster;
    mclient.on('error', () => {});
    const NAME = 'platter-cluster-mkill';
    try {
      await waitReady(mclient, 10_000);
      const lanes = openClusterLanes(mclient, masterSpec, { commandTimeoutMs: 5000, connectionName: NAME });
      lanesToClose.push(lanes);
      // A master whose replica is alive (the test before killed one replica), and both its lanes up.
      const victim = masters().find((m) => replicas().some((r) => r.masterPort === m.port))!;
      const replica = replicas().find((r) => r.masterPort === victim.port)!;
      const reader = new RedisOnlineReader(mclient, project, { clusterLanes: lanes });
      const want = expectedHex(hmgetLayout, IDS);
      await until(
        async () => {
          for (const a of [victim, replica]) if (!(await clientList(a.admin)).some((c) => c.name === `${NAME}-lane`)) return false;
          return true;
        },
        5000,
        'lanes on the victim master and its replica',
      );
      await sleep(50); // the handshake replies are read
      assert.deepEqual(await readHex(reader, hmgetLayout, IDS), want);

      await kill(victim); // well inside cluster-node-timeout: no failover yet

      const calls = await hmgetsDuring(async () => assert.deepEqual(await readHex(reader, hmgetLayout, IDS), want));
      assert.equal(calls.total, IDS.length + 1, 'one HMGET per key (and one for the second batch): no fallback read');
      assert.ok(calls.on(replica.port) > 0, `the dead master's replica ${replica.port} answered its slots`);
    } finally {
      mclient.disconnect();
    }
  });
  it('after the killed master\'s replica is promoted: reads and newer-wins writes go to the new master', async () => {
    // The replica whose master the test before killed; cluster-node-timeout is 2 s.
    const promoted = replicas().find((r) => !admins.some((a) => a.port === r.masterPort))!;
    assert.ok(promoted, 'a replica lost its master');
    const deadPort = promoted.masterPort;
    await until(
      async () =>
        /role:master/.test(await promoted.admin.info('replication')) && /cluster_state:ok/.test(String(await promoted.admin.call('CLUSTER', 'INFO'))),
      20_000,
      'the replica promoted and the cluster state ok',
    );
    promoted.role = 'master';
    promoted.masterPort = promoted.port;
    // The clients learn the new map from the failed connection or a MOVED; wait until it no longer names the dead node.
    await until(
      async () => {
        await client.hgetBuffer(key(IDS[0]!), '_ts:driver_stats').catch(() => null);
        return !client.nodes('all').some((n) => n.options.port === deadPort);
      },
      20_000,
      'the client dropped the dead node',
    );
    // New lanes on the new map. Not every lane need connect: the map may still name the replica an
    // earlier test killed, whose slots its master's lane serves.
    const lanes = openClusterLanes(client, spec, { commandTimeoutMs: 5000, connectionName: 'platter-cluster-failover' });
    lanesToClose.push(lanes);
    const reader = new RedisOnlineReader(client, project, { clusterLanes: lanes });
    await sleep(500);
    assert.deepEqual(await readHex(reader, hmgetLayout, IDS), expectedHex(hmgetLayout, IDS));

    const opts = { keyTtlSeconds: null, skipDedup: false };
    assert.deepEqual(await writeRedisRows(client, project, 'driver_stats', IDS.map((id) => rowFor(id, 400, id * 3)), opts), { written: 300, skipped: 0 });
    assert.deepEqual(await writeRedisRows(client, project, 'driver_stats', IDS.map((id) => rowFor(id, 300, -1)), opts), { written: 0, skipped: 300 });
    const ranges = ((await promoted.admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]).filter(([, , owner]) => owner[1] === promoted.port);
    const mine = IDS.filter((id) => ranges.some(([lo, hi]) => lo <= keySlot(key(id)) && keySlot(key(id)) <= hi));
    assert.ok(mine.length > 50, `the promoted master owns the slots of ${mine.length} of the keys`);
    for (const id of mine) {
      const ts = await promoted.admin.hgetBuffer(key(id), '_ts:driver_stats');
      assert.equal(ts?.toString('hex'), encodeTimestamp(400, 0).toString('hex'), `driver ${id} on the promoted master`);
    }
    const trips = rowsFromCells(batchesOf(reader, hmgetLayout, IDS), await reader.read(batchesOf(reader, hmgetLayout, IDS)))[0]!.map((r) => r[1]);
    assert.deepEqual(
      trips.map((v) => v && v.toString('hex')),
      IDS.map((id) => encodeValue(ValueType.INT64, id * 3).toString('hex')),
      'every key reads its newest value, the promoted master\'s included',
    );
  });
});
