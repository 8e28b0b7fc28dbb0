/**
 * Serving never pauses during a registry refresh: HTTP load (autocannon, programmatic) against
 * `platter serve` (a child process, run from source through tsx) reading a Feast SQL registry on
 * PostgreSQL and features from Redis, in three phases: no refreshes; a change check (what a 100 ms
 * poll costs: one marker query, no reload) every ~100 ms; and a forced full registry reload + index
 * swap every ~100 ms through the admin endpoint while a `feast apply`-style write changes the
 * registry every second (so plan caches really are dropped). Every response is checked for status
 * 200; errors must be 0. Note that PostgreSQL, Redis, the load generator and the server share the
 * machine: the reload phase also pays for PostgreSQL's work.
 *
 *   node --import tsx bench/registry-refresh.ts
 *
 * Env: DATABASE_URL (postgres://postgres@127.0.0.1:5432/test), REDIS_URL (redis://127.0.0.1:6379),
 * BENCH_SECONDS (10 per phase), BENCH_CONNECTIONS (32), BENCH_REFRESH_MS (100), BENCH_VIEWS (40).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { encodeValue } from '../src/encoding/value-encode.js';
import { ValueType } from '../src/encoding/value-type.js';
import { protoType } from '../src/proto/root.js';
import { registryObject, type RepoDefinition } from '../src/registry/definition.js';
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

/** CPU seconds (user + system) of processes matching `pick`, from /proc (Linux; 0 elsewhere). */
function cpuSeconds(pick: (pid: number, comm: string) => boolean): number {
  let ticks = 0;
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        if (!pick(Number(d), comm)) continue;
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(f[11]) + Number(f[12]); // utime, stime
      } catch {
        /* gone */
      }
    }
  } catch {
    return 0;
  }
  return ticks / 100; // USER_HZ
}

interface Phase {
  name: string;
  serverCpu: number;
  pgCpu: number;
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

    const serverPid = child.pid!;
    const measure = async (p: Promise<Phase>): Promise<Phase> => {
      const s0 = cpuSeconds((pid) => pid === serverPid);
      const g0 = cpuSeconds((_pid, comm) => comm === 'postgres');
      const phase = await p;
      phase.serverCpu = cpuSeconds((pid) => pid === serverPid) - s0;
      phase.pgCpu = cpuSeconds((_pid, comm) => comm === 'postgres') - g0;
      return phase;
    };
    await load(base, bodies, 2, null); // warm-up
    const quiet = await measure(load(base, bodies, SECONDS, null));
    quiet.name = 'no refreshes';
    const checks = await measure(load(base, bodies, SECONDS, { admin, reg, force: false }));
    checks.name = `change check every ${REFRESH_MS} ms`;
    const busy = await measure(load(base, bodies, SECONDS, { admin, reg, force: true }));
    busy.name = `force reload every ${REFRESH_MS} ms`;

    const metrics = await (await fetch(`${admin}/metrics`)).text();
    const metric = (n: string) => /^(\S+) (\S+)$/m.exec(metrics.split('\n').find((l) => l.startsWith(`${n} `)) ?? '')?.[2] ?? '?';

    console.log(`\nregistry refresh under load: ${CONNECTIONS} connections, ${SECONDS} s per phase, ${VIEWS + 1} views x ${FEATURES} features in a SQL registry on PostgreSQL, 10 entities x ${FEATURES} features per request, Node ${process.version}`);
    console.log('phase                            requests   errors  req/s     p50 ms  p99 ms  p99.9 ms  max ms  refreshes  refresh p50/max ms  server CPU µs/req  postgres CPU s');
    for (const p of [quiet, checks, busy]) {
      console.log(
        `${p.name.padEnd(32)} ${String(p.ok).padStart(8)} ${String(p.errors + p.non2xx).padStart(8)}  ${String(Math.round(p.rps)).padEnd(8)}  ${p.latency.p50.toFixed(2).padStart(6)}  ${p.latency.p99.toFixed(2).padStart(6)}  ${p.latency.p999.toFixed(2).padStart(8)}  ${p.latency.max.toFixed(1).padStart(6)}  ${String(p.refreshes).padStart(9)}  ${(p.refreshMs ? `${p.refreshMs.p50.toFixed(1)}/${p.refreshMs.max.toFixed(1)}` : '-').padEnd(18)}  ${String(Math.round((p.serverCpu * 1e6) / Math.max(1, p.ok))).padStart(17)}  ${p.pgCpu.toFixed(2).padStart(14)}`,
      );
    }
    console.log(`server: registry_swaps_total ${metric('registry_swaps_total')}, registry_refresh_failures_total ${metric('registry_refresh_failures_total')}, registry_last_load_seconds ${metric('registry_last_load_seconds')}; generations served in the last phase: ${busy.generations}`);
    if ([quiet, checks, busy].some((p) => p.errors + p.non2xx > 0)) {
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

let toggledProto: Buffer | null = null;

async function insertToggled(reg: Awaited<ReturnType<typeof createFeastSqlRegistry>>): Promise<void> {
  if (toggledProto === null) {
    const fv = (registryObject(definition(true)).feature_views as Record<string, any>[]).find((v) => v.spec.name === 'toggled_view')!;
    const t = protoType('feast.core.FeatureView');
    toggledProto = Buffer.from(t.encode(t.fromObject(fv)).finish());
  }
  const ts = Math.floor(Date.now() / 1000);
  await reg.client.query('BEGIN');
  await reg.client.query(
    'INSERT INTO feature_views (feature_view_name, project_id, last_updated_timestamp, feature_view_proto) VALUES ($1, $2, $3, $4)',
    ['toggled_view', PROJECT, ts, toggledProto],
  );
  await reg.client.query(
    "UPDATE feast_metadata SET metadata_value = $2, last_updated_timestamp = $3 WHERE project_id = $1 AND metadata_key = 'last_updated_timestamp'",
    [PROJECT, String(ts), ts],
  );
  await reg.client.query('COMMIT');
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
  /** force: a full reload + swap each time, and a registry change every second; else the change check alone. */
  refresh: { admin: string; reg: Awaited<ReturnType<typeof createFeastSqlRegistry>>; force: boolean } | null,
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
      if (refresh.force && Date.now() - lastApply >= 1000) {
        // A real change, written as Feast's _apply_object / _delete_object write it: a view appears
        // or goes. Precomputed bytes, so the load generator's own event loop stays free.
        applied = !applied;
        if (applied) await insertToggled(refresh.reg);
        else await refresh.reg.deleteObject(PROJECT, 'feature_views', 'toggled_view');
        lastApply = Date.now();
      }
      const r = await fetch(`${refresh.admin}/admin/refresh-registry${refresh.force ? '?force=1' : ''}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
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
    serverCpu: 0,
    pgCpu: 0,
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
