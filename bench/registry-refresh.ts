/**
 * Serving never pauses during a registry refresh: HTTP load (autocannon, programmatic) against
 * `platter serve` (a child process, run from source through tsx) reading a Feast SQL registry on
 * PostgreSQL and features from Redis, first with no refreshes, then while the admin endpoint forces
 * a full registry reload + index swap every ~100 ms and a `feast apply`-style write changes the
 * registry every second (so plan caches really are dropped). Every response is checked for status
 * 200; errors must be 0.
 *
 *   node --import tsx bench/registry-refresh.ts
 *
 * Env: DATABASE_URL (postgres://postgres@127.0.0.1:5432/test), REDIS_URL (redis://127.0.0.1:6379),
 * BENCH_SECONDS (10 per phase), BENCH_CONNECTIONS (32), BENCH_REFRESH_MS (100), BENCH_VIEWS (40).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { encodeValue } from '../src/encoding/value-encode.js';
import { ValueType } from '../src/encoding/value-type.js';
import type { RepoDefinition } from '../src/registry/definition.js';
import { createFeastSqlRegistry } from '../test/helpers/feast-sql.js';
import { seedFeastRedis } from '../test/helpers/feast-redis.js';
import { LatencyRecorder, type LatencySummary } from './lib/latency.js';
import { freePort } from './lib/ports.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const REFRESH_MS = Number(process.env.BENCH_REFRESH_MS ?? 100);
const VIEWS = Number(process.env.BENCH_VIEWS ?? 40);
const FEATURES = 10;
const ENTITIES = 1000;
const TOKEN = `bench-${process.pid}-${Date.now()}`;
const PROJECT = `bench_refresh_${process.pid}`;

const definition = (extra: boolean): RepoDefinition => ({
  project: PROJECT,
  entities: [{ name: 'driver', joinKey: 'driver_id', valueType: 'INT64' }],
  featureViews: [
    ...Array.from({ length: VIEWS }, (_, v) => ({
      name: `view_${v}`,
      entities: ['driver'],
      features: Array.from({ length: FEATURES }, (_, f) => ({ name: `f${f}`, valueType: 'DOUBLE' as const })),
    })),
    ...(extra ? [{ name: 'toggled_view', entities: ['driver'], features: [{ name: 'x', valueType: 'INT64' as const }] }] : []),
  ],
  featureServices: [{ name: 'svc', projections: [{ view: 'view_0' }, { view: 'view_1', features: ['f0', 'f1'] }] }],
});

interface Phase {
  name: string;
  ok: number;
  errors: number;
  non2xx: number;
  rps: number;
  latency: LatencySummary;
  refreshes: number;
  refreshMs: LatencySummary | null;
  generations: number;
}

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const reg = await createFeastSqlRegistry('bench');
  const dir = mkdtempSync(join(tmpdir(), 'platter-bench-refresh-'));
  let child: ReturnType<typeof spawn> | null = null;
  try {
    await reg.apply(definition(false));
    // Seed view_0 and view_1 for every entity, in Feast's Redis layout.
    for (const view of ['view_0', 'view_1']) {
      const rows = Array.from({ length: ENTITIES }, (_, i) => ({
        entity: { driver_id: { type: 4 as const, value: i } },
        ts: { seconds: 1704067200 },
        values: Object.fromEntries(Array.from({ length: FEATURES }, (_, f) => [`f${f}`, encodeValue(ValueType.DOUBLE, i + f / 10)])),
      }));
      await seedFeastRedis(redis, PROJECT, view, rows);
    }
    const u = new URL(redisUrl);
    writeFileSync(
      join(dir, 'feature_store.yaml'),
      [
        `project: ${PROJECT}`,
        'registry:',
        '  registry_type: sql',
        `  path: "${reg.feastPath}"`,
        '  cache_ttl_seconds: 0',
        'online_store:',
        '  type: redis',
        `  connection_string: "${u.hostname}:${u.port || 6379}"`,
        'entity_key_serialization_version: 3',
        '',
      ].join('\n'),
    );

    const port = await freePort();
    const adminPort = await freePort();
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/platter.ts', 'serve', '--repo', dir, '--host', '127.0.0.1', '--port', String(port), '--no-grpc', '--admin-port', String(adminPort)],
      { cwd: ROOT, env: { ...process.env, PLATTER_ADMIN_TOKEN: TOKEN, PLATTER_LOG_LEVEL: 'error' }, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const base = `http://127.0.0.1:${port}`;
    const admin = `http://127.0.0.1:${adminPort}`;
    await waitHealthy(base);

    const bodies = Array.from({ length: 256 }, (_, k) =>
      JSON.stringify({
        features: Array.from({ length: FEATURES }, (_, f) => `view_0:f${f}`),
        entities: { driver_id: Array.from({ length: 10 }, (_, i) => (k * 10 + i) % ENTITIES) },
      }),
    );
    // Correctness first: one response checked against the seeded values.
    const check = await fetch(`${base}/get-online-features`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0]! });
    const checked = (await check.json()) as { results: { values: unknown[] }[] };
    if (check.status !== 200 || checked.results[1]?.values[3] !== 3) throw new Error(`check failed: ${check.status} ${JSON.stringify(checked).slice(0, 300)}`);

    await load(base, bodies, 2, null); // warm-up
    const quiet = await load(base, bodies, SECONDS, null);
    quiet.name = 'no refreshes';
    const busy = await load(base, bodies, SECONDS, { admin, reg });
    busy.name = `force refresh every ${REFRESH_MS} ms`;

    const metrics = await (await fetch(`${admin}/metrics`)).text();
    const metric = (n: string) => /^(\S+) (\S+)$/m.exec(metrics.split('\n').find((l) => l.startsWith(`${n} `)) ?? '')?.[2] ?? '?';

    console.log(`\nregistry refresh under load: ${CONNECTIONS} connections, ${SECONDS} s per phase, ${VIEWS + 1} views x ${FEATURES} features in a SQL registry on PostgreSQL, 10 entities x ${FEATURES} features per request, Node ${process.version}`);
    console.log('phase                            requests   errors  req/s     p50 ms  p99 ms  p99.9 ms  max ms  refreshes  refresh p50/max ms');
    for (const p of [quiet, busy]) {
      console.log(
        `${p.name.padEnd(32)} ${String(p.ok).padStart(8)} ${String(p.errors + p.non2xx).padStart(8)}  ${String(Math.round(p.rps)).padEnd(8)}  ${p.latency.p50.toFixed(2).padStart(6)}  ${p.latency.p99.toFixed(2).padStart(6)}  ${p.latency.p999.toFixed(2).padStart(8)}  ${p.latency.max.toFixed(1).padStart(6)}  ${String(p.refreshes).padStart(9)}  ${p.refreshMs ? `${p.refreshMs.p50.toFixed(1)}/${p.refreshMs.max.toFixed(1)}` : '-'}`,
      );
    }
    console.log(`server: registry_swaps_total ${metric('registry_swaps_total')}, registry_refresh_failures_total ${metric('registry_refresh_failures_total')}, registry_last_load_seconds ${metric('registry_last_load_seconds')}; generations seen in phase 2: ${busy.generations}`);
    if (quiet.errors + quiet.non2xx + busy.errors + busy.non2xx > 0) {
      console.error('FAIL: requests failed');
      process.exitCode = 1;
    }
  } finally {
    child?.kill('SIGTERM');
    await reg.drop();
    const keys = await redis.keysBuffer(`*${PROJECT}`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitHealthy(base: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/health`)).status === 200) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy');
}

async function load(
  base: string,
  bodies: readonly string[],
  seconds: number,
  refresh: { admin: string; reg: Awaited<ReturnType<typeof createFeastSqlRegistry>> } | null,
): Promise<Phase> {
  const latency = new LatencyRecorder();
  const refreshLatency = new LatencyRecorder();
  let ok = 0;
  let non2xx = 0;
  let refreshes = 0;
  const generations = new Set<number>();
  let stop = false;
  const headers = { 'content-type': 'application/json' };
  let nextClient = 0;
  const instance = autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ method: 'POST', path: '/get-online-features', headers, body: bodies[0]! }],
    setupClient: (client) => {
      const offset = (nextClient++ * 7) % bodies.length;
      client.setRequests(bodies.map((_, i) => ({ method: 'POST', path: '/get-online-features', headers, body: bodies[(offset + i) % bodies.length]! })));
    },
  });
  instance.on('response', (_c, status, _bytes, ms) => {
    if (status === 200) {
      ok++;
      latency.record(ms);
    } else non2xx++;
  });
  const refresher = (async () => {
    if (refresh === null) return;
    let applied = false;
    let lastApply = Date.now();
    while (!stop) {
      const t0 = performance.now();
      if (Date.now() - lastApply >= 1000) {
        applied = !applied;
        await refresh.reg.apply(definition(applied)); // a real change: a view appears or goes
        lastApply = Date.now();
      }
      const r = await fetch(`${refresh.admin}/admin/refresh-registry?force=1`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      const j = (await r.json()) as { generation?: number; error?: unknown };
      if (r.status !== 200) throw new Error(`refresh failed: ${r.status} ${JSON.stringify(j)}`);
      generations.add(j.generation!);
      refreshes++;
      const ms = performance.now() - t0;
      refreshLatency.record(ms);
      await new Promise((res) => setTimeout(res, Math.max(0, REFRESH_MS - ms)));
    }
  })();
  const t0 = performance.now();
  const result = await instance;
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await refresher;
  return {
    name: '',
    ok,
    errors: result.errors + result.timeouts,
    non2xx,
    rps: ok / elapsed,
    latency: latency.summary(),
    refreshes,
    refreshMs: refresh ? refreshLatency.summary() : null,
    generations: generations.size,
  };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
