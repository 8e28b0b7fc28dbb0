/**
 * `platter serve --workers 2` through the real CLI against a private redis-server: both workers
 * serve the same HTTP and gRPC ports, a worker killed with SIGKILL is replaced while the other keeps
 * answering, SIGTERM stops all of them, and a worker that cannot start stops the whole command
 * instead of being restarted forever.
 *
 * Who served is read from Redis, not from the server: every worker has its own fast-lane
 * connection (`platter-serve-lane`), and CLIENT LIST shows the last command each connection sent
 * (`client|setname` after the lane's handshake, `hgetall` once it has read for a request: the
 * request wants every field of the hash).
 *
 * Skipped, not failed, when `redis-server` is not installed.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { ValueType } from '../../src/encoding/value-type.js';
import type { RepoDefinition } from '../../src/registry/definition.js';
import { runCli, sleep, waitHealthy, withTimeout, type Run } from '../helpers/cli.js';
import { EPOCH, entityColumn, featureColumn, responseText } from '../helpers/feast-json.js';
import { seedFeastRedis } from '../helpers/feast-redis.js';
import { servingClients } from '../helpers/grpc-client.js';
import { clientList } from '../helpers/redis-admin.js';
import { missingRedisTools, startRedisServer, type RedisServerProcess } from '../helpers/redis-server.js';
import { makeRepo, redisYaml, type TempRepo } from '../helpers/repo.js';
import { freePort, uniqueProject } from '../helpers/services.js';

const TS_2024 = 1704067200; // 2024-01-01T00:00:00Z
const T0 = '2024-01-01T00:00:00Z';
const LANE = 'platter-serve-lane';

function definition(project: string): RepoDefinition {
  return {
    project,
    entities: [{ name: 'driver', joinKey: 'driver_id', valueType: 'INT64' }],
    featureViews: [
      {
        name: 'driver_stats',
        entities: ['driver'],
        features: [
          { name: 'trips', valueType: 'INT64' },
          { name: 'name', valueType: 'STRING' },
        ],
      },
    ],
  };
}

const REQUEST = JSON.stringify({ features: ['driver_stats:trips', 'driver_stats:name'], entities: { driver_id: [1001, 1002, 9999] } });
const EXPECTED = responseText(
  ['driver_id', 'trips', 'name'],
  [
    entityColumn(['1001', '1002', '9999']),
    featureColumn(['42', '7', 'null'], ['PRESENT', 'PRESENT', 'NOT_FOUND'], [T0, T0, EPOCH]),
    featureColumn(['"alpha"', '"beta"', 'null'], ['PRESENT', 'PRESENT', 'NOT_FOUND'], [T0, T0, EPOCH]),
  ],
);

/**
 * Live worker processes of the primary `pid`: its children running the same command (under tsx
 * the primary also has an esbuild child).
 */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (Z: exited, not yet reaped), fields[1] the parent pid.
    if (Number(fields[1]) !== pid || fields[0] === 'Z') continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('platter.ts')) out.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** The state letter of proc(5) stat (R, S, Z, ...), or null once the process is gone (reaped). */
function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** One request on a connection of its own (no agent, no keep-alive), so the kernel picks a worker for each. */
function postFresh(port: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/get-online-features', method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => reject(new Error(`POST /get-online-features on port ${port}: ${err.message} (${new Date().toISOString()})`)));
    req.end(REQUEST);
  });
}

async function lanes(admin: Redis): Promise<Record<string, string>[]> {
  return (await clientList(admin)).filter((c) => c.name === LANE);
}

async function waitFor(what: string, run: Run, ok: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs} ms; server output:\n${run.output()}`);
    await sleep(50);
  }
}

const skip = missingRedisTools() ?? false;

describe('platter serve --workers 2', { skip }, () => {
  const project = uniqueProject('workers');
  let redis: RedisServerProcess;
  let admin: Redis;
  let repo: TempRepo;
  let port: number;
  let grpcPort: number;
  let server: Run;
  let workers: number[] = [];

  before(async () => {
    redis = await startRedisServer();
    admin = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: 1 });
    const drv = (id: number) => ({ driver_id: { type: 4 as const, value: id } });
    await seedFeastRedis(admin, project, 'driver_stats', [
      { entity: drv(1001), ts: { seconds: TS_2024 }, values: { trips: encodeValue(ValueType.INT64, 42), name: encodeValue(ValueType.STRING, 'alpha') } },
      { entity: drv(1002), ts: { seconds: TS_2024 }, values: { trips: encodeValue(ValueType.INT64, 7), name: encodeValue(ValueType.STRING, 'beta') } },
    ]);
    repo = makeRepo(definition(project), redisYaml(project, redis.host, redis.port));
    port = await freePort();
    grpcPort = await freePort();
    server = runCli(['serve', '--repo', repo.dir, '--host', '127.0.0.1', '--port', String(port), '--grpc-port', String(grpcPort), '--workers', '2']);
    await waitHealthy(server, port);
    await waitFor('the primary reports every worker ready', server, () => server.output().includes('platter serving with workers'));
    workers = childrenOf(server.child.pid!);
    assert.equal(workers.length, 2, `expected 2 worker processes under the primary, found ${workers.length}`);
    // Each worker opens its own lane; its handshake may finish just after the worker is ready.
    await waitFor('two fast-lane connections', server, async () => (await lanes(admin)).length === 2);
  });

  after(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    for (const pid of workers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    admin?.disconnect();
    await redis?.stop();
    repo?.remove();
  });

  it('answers on one HTTP port from both workers, each reading through its own lane', async () => {
    for (let i = 0; i < 40; i++) {
      const res = await postFresh(port);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, EXPECTED);
    }
    const ls = await lanes(admin);
    assert.equal(ls.length, 2);
    // 40 fresh connections spread by the kernel (SO_REUSEPORT): both lanes have read. The chance
    // that all 40 land on one worker by luck is 2^-39.
    assert.deepEqual(
      ls.map((c) => c.cmd),
      ['hgetall', 'hgetall'],
      `lane connections: ${JSON.stringify(ls.map((c) => ({ addr: c.addr, cmd: c.cmd })))}`,
    );
  });

  it('answers gRPC on one port (connections handed to the workers in turn)', async () => {
    for (let i = 0; i < 6; i++) {
      const c = servingClients(`127.0.0.1:${grpcPort}`);
      try {
        const res = await c.serving('GetOnlineFeatures', {
          features: { val: ['driver_stats:trips', 'driver_stats:name'] },
          entities: { driver_id: { val: [{ int64_val: '1001' }, { int64_val: '9999' }] } },
        });
        assert.deepEqual(res.metadata.feature_names.val, ['driver_id', 'trips', 'name']);
        assert.deepEqual(res.results[1].values, [{ int64_val: '42', val: 'int64_val' }, {}]);
        assert.deepEqual(res.results[1].statuses, ['PRESENT', 'NOT_FOUND']);
        assert.deepEqual(res.results[2].values[0], { string_val: 'alpha', val: 'string_val' });
      } finally {
        c.close();
      }
    }
  });

  it('replaces a worker killed with SIGKILL; the other keeps answering meanwhile', async () => {
    const [victim, survivor] = workers as [number, number];
    process.kill(victim, 'SIGKILL');
    // Gone means reaped: only then is its listening socket surely closed. Neither an empty command
    // line nor a zombie main thread is a sign: the other threads of the process, which share its
    // files, may still be exiting, and connections the kernel queues on that socket are reset.
    await waitFor('the killed worker is gone', server, () => processState(victim) === null);
    // Its listening socket died with it: new connections go to the survivor until the replacement binds.
    for (let i = 0; i < 20; i++) {
      const res = await postFresh(port);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, EXPECTED);
    }
    await waitFor('a replacement worker', server, () => {
      const now = childrenOf(server.child.pid!);
      return now.length === 2 && now.includes(survivor) && !now.includes(victim);
    });
    workers = childrenOf(server.child.pid!);
    await waitFor('the replacement worker has its lane', server, async () => (await lanes(admin)).length === 2);
    assert.match(server.output(), /a worker died; starting another/);
    for (let i = 0; i < 10; i++) assert.equal((await postFresh(port)).text, EXPECTED);
  });

  it('every worker killed at once: the primary stays and starts them all again', async () => {
    // Nothing but the restart timers keeps the primary's event loop alive then (no admin port here).
    const victims = childrenOf(server.child.pid!);
    assert.equal(victims.length, 2);
    for (const pid of victims) process.kill(pid, 'SIGKILL');
    await waitFor('both workers are gone', server, () => victims.every((pid) => processState(pid) === null));
    await waitFor('two replacement workers', server, () => {
      const now = childrenOf(server.child.pid!);
      return now.length === 2 && now.every((pid) => !victims.includes(pid));
    });
    assert.equal(server.child.exitCode, null, `the primary exited:\n${server.output()}`);
    workers = childrenOf(server.child.pid!);
    await waitHealthy(server, port);
    for (let i = 0; i < 10; i++) assert.equal((await postFresh(port)).text, EXPECTED);
  });

  it('stops every worker on SIGTERM and exits 0', async () => {
    const pids = childrenOf(server.child.pid!);
    server.child.kill('SIGTERM');
    const { code, signal } = await withTimeout(server.exited, 20_000, 'platter serve after SIGTERM');
    assert.equal(signal, null, server.output());
    assert.equal(code, 0, server.output());
    // The primary exits after it has seen (reaped) every worker exit.
    for (const pid of pids) assert.equal(processState(pid), null, `worker ${pid} still runs`);
    await waitFor('the lanes are closed', server, async () => (await lanes(admin)).length === 0);
  });
});

describe('platter serve --workers: start-up failures end the command', { skip }, () => {
  const project = uniqueProject('workers_fail');
  let redis: RedisServerProcess;
  let repo: TempRepo;
  let blocker: Server | null = null;

  before(async () => {
    redis = await startRedisServer();
    repo = makeRepo(definition(project), redisYaml(project, redis.host, redis.port));
  });

  after(async () => {
    blocker?.close();
    await redis?.stop();
    repo?.remove();
  });

  it('exits 1 once, without restarts, when the workers cannot bind the HTTP port', async () => {
    const port = await freePort();
    // A plain listener without SO_REUSEPORT: the workers' uWS listen fails on it.
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(port, '127.0.0.1', resolve));
    const run = runCli(['serve', '--repo', repo.dir, '--host', '127.0.0.1', '--port', String(port), '--no-grpc', '--workers', '2']);
    const { code } = await withTimeout(run.exited, 30_000, 'platter serve --workers 2 on a taken port');
    assert.equal(code, 1, run.output());
    assert.match(run.output(), /cannot listen on 127\.0\.0\.1:\d+ for HTTP/);
    assert.match(run.output(), /worker \d exited \(code 1\) before it could serve/);
    assert.doesNotMatch(run.output(), /starting another/);
  });

  it('refuses a bad worker count, and an admin port without a token, naming the setting', async () => {
    const zero = runCli(['serve', '--repo', repo.dir, '--workers', '0']);
    assert.equal((await withTimeout(zero.exited, 30_000, '--workers 0')).code, 1);
    assert.match(zero.output(), /CONFIG_INVALID: --workers must be a whole number of processes from 1 to 256 or auto, got '0'/);

    const noToken = runCli(['serve', '--repo', repo.dir, '--workers', '2', '--admin-port', String(await freePort())], { PLATTER_ADMIN_TOKEN: '' });
    assert.equal((await withTimeout(noToken.exited, 30_000, '--workers 2 --admin-port without a token')).code, 1);
    assert.match(noToken.output(), /CONFIG_INVALID: .*admin endpoint .* needs a bearer token/);
    assert.doesNotMatch(noToken.output(), /platter serving/, 'refused before any worker started');
  });
});

describe('platter serve --workers 2 with the admin endpoint (on the primary)', { skip }, () => {
  const project = uniqueProject('workers_admin');
  const TOKEN = 'workers-admin-token';
  let redis: RedisServerProcess;
  let admin: Redis;
  let repo: TempRepo;
  let port: number;
  let adminPort: number;
  let server: Run;
  const withRating = (p: string): RepoDefinition => {
    const d = definition(p);
    return { ...d, featureViews: [{ ...d.featureViews[0]!, features: [...d.featureViews[0]!.features, { name: 'rating', valueType: 'INT64' }] }] };
  };
  const adminCall = async (method: string, path: string, token: string | null = TOKEN) => {
    const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, {
      method,
      headers: { connection: 'close', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    });
    return { status: res.status, text: await res.text() };
  };
  const ratingRequest = JSON.stringify({ features: ['driver_stats:rating'], entities: { driver_id: [1001] } });
  const postRating = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/get-online-features', method: 'POST', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(ratingRequest);
    });

  before(async () => {
    redis = await startRedisServer();
    admin = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: 1 });
    await seedFeastRedis(admin, project, 'driver_stats', [
      {
        entity: { driver_id: { type: 4, value: 1001 } },
        ts: { seconds: TS_2024 },
        values: { trips: encodeValue(ValueType.INT64, 42), rating: encodeValue(ValueType.INT64, 5) },
      },
    ]);
    // cache_ttl_seconds: 0: the registry is loaded once; only an admin refresh changes it.
    repo = makeRepo(definition(project), redisYaml(project, redis.host, redis.port));
    port = await freePort();
    adminPort = await freePort();
    server = runCli(['serve', '--repo', repo.dir, '--host', '127.0.0.1', '--port', String(port), '--no-grpc', '--workers', '2', '--admin-port', String(adminPort)], {
      PLATTER_ADMIN_TOKEN: TOKEN,
    });
    await waitHealthy(server, port);
    await waitFor('every worker ready', server, () => server.output().includes('platter serving with workers'));
    // The primary opens its admin port once every worker is ready, so after the line above.
    await waitFor('the admin port open', server, () => server.output().includes('admin endpoint listening'));
  });

  after(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      await withTimeout(server.exited, 20_000, 'platter serve after SIGTERM');
    }
    admin?.disconnect();
    await redis?.stop();
    repo?.remove();
  });

  it('/metrics carries every worker\'s samples, labelled', async () => {
    const m = await adminCall('GET', '/metrics', null);
    assert.equal(m.status, 200);
    assert.match(m.text, /^registry_loaded\{worker="0"\} 1$/m);
    assert.match(m.text, /^registry_loaded\{worker="1"\} 1$/m);
    assert.equal(m.text.match(/^# TYPE registry_loaded gauge$/gm)?.length, 1, 'one family, two samples');
    assert.match(m.text, /^platter_workers_serving 2$/m);
    assert.match(m.text, /^platter_worker_restarts_total 0$/m);
    // The primary's own memory, beside each worker's.
    for (const w of ['0', '1', 'primary']) assert.match(m.text, new RegExp(`^process_resident_memory_bytes\\{worker="${w}"\\} [1-9]\\d*$`, 'm'), `worker ${w}`);
  });

  it('a refresh runs on every worker: a feature added by `feast apply` is then served by both', async () => {
    for (let i = 0; i < 10; i++) assert.equal(await postRating(), 404, 'rating is not in the loaded registry yet');
    repo.apply(withRating(project));
    assert.equal((await adminCall('POST', '/admin/refresh-registry', 'wrong')).status, 401);
    const r = await adminCall('POST', '/admin/refresh-registry');
    assert.equal(r.status, 200, r.text);
    const body = JSON.parse(r.text) as { changed: boolean; workers: { worker: number; changed: boolean; generation: number }[] };
    assert.equal(body.changed, true);
    assert.deepEqual(
      body.workers.map((w) => [w.worker, w.changed, w.generation]),
      [
        [0, true, 2],
        [1, true, 2],
      ],
    );
    // Fresh connections, spread over both workers by the kernel: every one knows the feature now.
    for (let i = 0; i < 30; i++) assert.equal(await postRating(), 200);
    const dump = await adminCall('GET', '/admin/registry');
    assert.equal(dump.status, 200);
    assert.match(dump.text, /"rating"/);
  });

  it('/metrics counts a replaced worker, and the replacement answers refreshes too', async () => {
    const [victim] = childrenOf(server.child.pid!);
    process.kill(victim!, 'SIGKILL');
    await waitFor('the killed worker is gone', server, () => processState(victim!) === null);
    await waitFor('a replacement serves', server, async () => (await adminCall('GET', '/metrics', null)).text.includes('platter_workers_serving 2'));
    const m = await adminCall('GET', '/metrics', null);
    assert.match(m.text, /^platter_worker_restarts_total 1$/m);
    const r = await adminCall('POST', '/admin/refresh-registry');
    assert.equal(r.status, 200, r.text);
    assert.equal((JSON.parse(r.text) as { workers: unknown[] }).workers.length, 2);
  });
});
