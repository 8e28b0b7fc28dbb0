/**
 * `platter serve` against a Redis that only speaks TLS (`connection_string: "localhost:<port>,ssl=true"`),
 * through the real CLI as a child process, with a throwaway CA made by the `openssl` CLI and
 * trusted only through NODE_EXTRA_CA_CERTS (certificates are verified, as Feast's `ssl=true` does).
 *
 * The reader falls back to ioredis while the fast lane (src/online/redis/lane.ts) is not ready,
 * so correct answers alone would not show the lane works over TLS. The test also asks Redis:
 * CLIENT LIST must show the lane's connection (`platter-serve-lane`) on the TLS port (the plain
 * port is disabled) with `cmd=hmget` after the request, and INFO commandstats must count exactly
 * one HMGET per entity key and no EVALSHA/EVAL (what ioredis would have sent for several keys).
 *
 * Skipped, not failed, when `openssl` or `redis-server` is missing or redis-server has no TLS.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { ValueType } from '../../src/encoding/value-type.js';
import type { RepoDefinition } from '../../src/registry/definition.js';
import { seedFeastRedis } from '../helpers/feast-redis.js';
import { EPOCH, entityColumn, featureColumn, responseText } from '../helpers/feast-json.js';
import { makeRepo, redisYaml, type TempRepo } from '../helpers/repo.js';
import { freePort, uniqueProject } from '../helpers/services.js';
import { RedisServerExited, startRedisServer, type RedisServerProcess } from '../helpers/redis-server.js';
import { clientList, commandCalls } from '../helpers/redis-admin.js';
import { runCli, sleep, waitHealthy, withTimeout, type Run } from '../helpers/cli.js';

const TS_2024 = 1704067200; // 2024-01-01T00:00:00Z
const T0 = '2024-01-01T00:00:00Z';
const LANE = 'platter-serve-lane';

// ---------------------------------------------------------------------------------------------
// Tools, certificates, a TLS-only redis-server

/** Why the test cannot run here (a missing tool), or null. */
function missingTool(): string | null {
  for (const [cmd, args] of [
    ['openssl', ['version']],
    ['redis-server', ['--version']],
  ] as const) {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return `\`${cmd}\` is not installed`;
      throw err;
    }
  }
  return null;
}

interface Certs {
  dir: string;
  caPath: string;
  ca: Buffer;
  certPath: string;
  keyPath: string;
}

/** A throwaway CA and a server certificate it signed for localhost / 127.0.0.1 (EC P-256, 1 day). */
function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'platter-tls-'));
  const p = (f: string) => join(dir, f);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '1', '-subj', '/CN=Platter test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(
    p('server.ext'),
    [
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  ssl('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-set_serial', '1',
    '-days', '1', '-extfile', p('server.ext'), '-out', p('server.crt'));
  return { dir, caPath: p('ca.crt'), ca: readFileSync(p('ca.crt')), certPath: p('server.crt'), keyPath: p('server.key') };
}

class TlsUnsupported extends Error {}

/** One TLS PING to the server, verifying its certificate against our CA as `localhost`. */
function tlsPing(port: number, ca: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    s.setTimeout(2000, () => s.destroy(new Error('TLS PING timed out')));
    let got = '';
    s.once('secureConnect', () => s.write('PING\r\n'));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) {
        s.destroy();
        if (got.startsWith('+PONG')) resolve();
        else reject(new Error(`unexpected reply ${JSON.stringify(got)}`));
      }
    });
    s.once('error', reject);
  });
}

/** A private redis-server with its plain port disabled (`--port 0`), serving TLS only. */
async function startTlsRedis(certs: Certs): Promise<RedisServerProcess> {
  const port = await freePort();
  let lastPing: unknown = null;
  const answersTlsPing = async (p: number) => {
    try {
      await tlsPing(p, certs.ca);
      return true;
    } catch (err) {
      lastPing = err;
      return false;
    }
  };
  try {
    return await startRedisServer({
      port,
      args: ['--port', '0', '--tls-port', String(port), '--tls-cert-file', certs.certPath, '--tls-key-file', certs.keyPath,
        '--tls-ca-cert-file', certs.caPath, '--tls-auth-clients', 'no'],
      ready: answersTlsPing,
    });
  } catch (err) {
    if (!(err instanceof RedisServerExited)) throw new Error(`${String(err)}\nthe last TLS PING failed with: ${String(lastPing)}`);
    // A build without TLS refuses the tls-* options (7.0: "Bad directive"; 7.2+: no "tls" connection type).
    if (/tls/i.test(err.output) && /bad directive|unknown|unsupported|not supported|missing implement|connection type/i.test(err.output)) {
      throw new TlsUnsupported(`redis-server has no TLS support: ${err.output.trim().split('\n').slice(-3).join(' | ')}`);
    }
    throw err;
  }
}

// Decide here whether the suite can run (a skip needs to be known when the suite is declared).
let skip: string | false = missingTool() ?? false;
let certs: Certs | null = null;
let redis: RedisServerProcess | null = null;
if (skip === false) {
  certs = makeCerts();
  try {
    redis = await startTlsRedis(certs);
  } catch (err) {
    rmSync(certs.dir, { recursive: true, force: true });
    if (!(err instanceof TlsUnsupported)) throw err;
    skip = err.message;
  }
}

// ---------------------------------------------------------------------------------------------
// Repo, seed data, the CLI

/** driver_stats + driver_profile share the driver key: one Redis hash of 8+1 + 2+1 = 12 fields. */
function definition(project: string): RepoDefinition {
  return {
    project,
    entities: [{ name: 'driver', joinKey: 'driver_id', valueType: 'INT64' }],
    featureViews: [
      {
        name: 'driver_stats',
        entities: ['driver'],
        features: [
          { name: 'conv_rate', valueType: 'FLOAT' },
          { name: 'acc_rate', valueType: 'DOUBLE' },
          { name: 'trips', valueType: 'INT64' },
          { name: 'name', valueType: 'STRING' },
          { name: 'p1', valueType: 'INT64' },
          { name: 'p2', valueType: 'INT64' },
          { name: 'p3', valueType: 'INT64' },
          { name: 'p4', valueType: 'INT64' },
        ],
      },
      {
        name: 'driver_profile',
        entities: ['driver'],
        features: [
          { name: 'rating', valueType: 'DOUBLE' },
          { name: 'active', valueType: 'BOOL' },
        ],
      },
    ],
  };
}

const drv = (id: number) => ({ driver_id: { type: 4 as const, value: id } });

async function seed(client: Redis, project: string): Promise<void> {
  await seedFeastRedis(client, project, 'driver_stats', [
    {
      entity: drv(1001),
      ts: { seconds: TS_2024 },
      values: {
        conv_rate: encodeValue(ValueType.FLOAT, 0.5),
        acc_rate: encodeValue(ValueType.DOUBLE, 0.25),
        trips: encodeValue(ValueType.INT64, 42),
        name: encodeValue(ValueType.STRING, 'alpha'),
        p1: encodeValue(ValueType.INT64, 1),
        p2: encodeValue(ValueType.INT64, 2),
      },
    },
    // name is Feast's None (an empty Value): NULL_VALUE with the view's timestamp
    { entity: drv(1002), ts: { seconds: TS_2024 }, values: { trips: encodeValue(ValueType.INT64, 7), name: Buffer.alloc(0) } },
  ]);
  await seedFeastRedis(client, project, 'driver_profile', [
    {
      entity: drv(1001),
      ts: { seconds: TS_2024, nanos: 500_000_000 },
      values: { rating: encodeValue(ValueType.DOUBLE, 4.5), active: encodeValue(ValueType.BOOL, true) },
    },
  ]);
  // driver 9999 is never written
}

/**
 * 3 of the 12 stored fields' features (+2 `_ts`): width 5, and 2 x 5 < 12, so the lane reads with
 * one HMGET per entity key, not HGETALL (src/online/redis/reader.ts `prepare`).
 */
const REQUEST = {
  features: ['driver_stats:trips', 'driver_stats:name', 'driver_profile:rating'],
  entities: { driver_id: [1001, 1002, 9999] },
};
const EXPECTED = responseText(
  ['driver_id', 'trips', 'name', 'rating'],
  [
    entityColumn(['1001', '1002', '9999']),
    featureColumn(['42', '7', 'null'], ['PRESENT', 'PRESENT', 'NOT_FOUND'], [T0, T0, EPOCH]),
    featureColumn(['"alpha"', 'null', 'null'], ['PRESENT', 'NULL_VALUE', 'NOT_FOUND'], [T0, T0, EPOCH]),
    featureColumn(['4.5', 'null', 'null'], ['PRESENT', 'NOT_FOUND', 'NOT_FOUND'], ['2024-01-01T00:00:00.500Z', EPOCH, EPOCH]),
  ],
);

const portOf = (addr: string | undefined) => Number(addr?.slice(addr.lastIndexOf(':') + 1));

// ---------------------------------------------------------------------------------------------

// Both host forms: a name (sent as TLS SNI) and an IP address (no SNI, RFC 6066; the
// certificate is still checked against the address).
for (const host of ['localhost', '127.0.0.1']) describe(`platter serve over a TLS-only Redis (${host}, ssl=true), fast lane on TLS`, { skip }, () => {
  const project = uniqueProject('tls');
  let client: Redis;
  let repo: TempRepo;
  let port: number;
  let server: Run | null = null;

  before(async () => {
    const r = redis!;
    const c = certs!;
    client = new Redis({ host: 'localhost', port: r.port, tls: { ca: c.ca, servername: 'localhost' }, maxRetriesPerRequest: 1 });
    await seed(client, project);

    repo = makeRepo(definition(project), redisYaml(project, host, r.port, 3).replace(/connection_string: "([^"]*)"/, 'connection_string: "$1,ssl=true"'));
    assert.match(readFileSync(join(repo.dir, 'feature_store.yaml'), 'utf8'), new RegExp(`connection_string: "${host.replace(/\./g, '\\.')}:${r.port},ssl=true"`));

    port = await freePort();
    server = runCli(['serve', '--repo', repo.dir, '--host', '127.0.0.1', '--port', String(port), '--no-grpc'], {
      NODE_EXTRA_CA_CERTS: c.caPath,
    });
    const s = server;
    await waitHealthy(s, port);

    // serve waits up to 2 s for the lane's handshake; on a loaded machine it may finish later, and
    // a request before then would (correctly) go through ioredis. Wait until Redis has named the
    // lane's connection, i.e. it received the lane's handshake over TLS.
    const laneDeadline = Date.now() + 10_000;
    while (!(await clientList(client)).some((c) => c.name === LANE)) {
      assert.ok(
        Date.now() < laneDeadline,
        `no '${LANE}' connection on the TLS-only Redis 10 s after serve was healthy (the fast lane cannot connect over TLS)\n` +
          `serve output:\n${s.output()}`,
      );
      await sleep(50);
    }
    // One more round trip through the server's event loop, so it has read the handshake's reply.
    await (await fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } })).arrayBuffer();
  });

  after(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    if (client) await client.quit().catch(() => client.disconnect());
    repo?.remove();
  });

  it('the Redis is TLS-only: the seeding client and serve reach it on the TLS port, nothing listens in plain text', async () => {
    assert.equal(await client.ping(), 'PONG');
    const conns = await clientList(client);
    // every connection, ours and serve's, came in through the TLS listener
    for (const c of conns) assert.equal(portOf(c.laddr), redis!.port, `connection on another port: ${JSON.stringify(c)}`);
    assert.equal(conns.filter((c) => c.name === 'platter-serve').length, 1, JSON.stringify(conns));
    const cfg = (await client.call('CONFIG', 'GET', 'port')) as string[];
    assert.deepEqual(cfg, ['port', '0']);
  });

  it('serves the request with exact values and statuses, read by the fast lane (one HMGET per entity key)', async () => {
    assert.equal(await client.call('CONFIG', 'RESETSTAT'), 'OK');
    const res = await fetch(`http://127.0.0.1:${port}/get-online-features`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify(REQUEST),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(text, EXPECTED);

    // HMGETs run inside ioredis's Lua script count here too, so EVALSHA/EVAL must be absent as well.
    const calls = await commandCalls(client);
    assert.equal(calls.get('hmget'), 3, `HMGETs per entity key: ${JSON.stringify([...calls])}`);
    for (const c of ['evalsha', 'eval', 'hgetall']) assert.equal(calls.get(c), undefined, `${c} was called: ${JSON.stringify([...calls])}`);

    const lanes = (await clientList(client)).filter((c) => c.name === LANE);
    assert.equal(lanes.length, 1, `expected one '${LANE}' connection: ${JSON.stringify(lanes)}`);
    const lane = lanes[0]!;
    assert.equal(lane.cmd, 'hmget', `the lane's last command: ${JSON.stringify(lane)}`);
    assert.equal(portOf(lane.laddr), redis!.port, `the lane is not on the TLS port: ${JSON.stringify(lane)}`);
  });

  it('SIGTERM stops serve with exit code 0 and its Redis connections close', async () => {
    const s = server!;
    s.child.kill('SIGTERM');
    const res = await withTimeout(s.exited, 10_000, 'platter serve after SIGTERM');
    assert.deepEqual(res, { code: 0, signal: null }, s.output());
    assert.doesNotMatch(s.output(), /DEP0123/, 'TLS server name set to an IP address');
    const deadline = Date.now() + 5000;
    let left = (await clientList(client)).filter((c) => c.name?.startsWith('platter-serve'));
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(50);
      left = (await clientList(client)).filter((c) => c.name?.startsWith('platter-serve'));
    }
    assert.deepEqual(left, [], 'serve connections still open after it exited');
  });
});

after(async () => {
  await redis?.stop();
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});
