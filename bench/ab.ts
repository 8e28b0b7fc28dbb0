/**
 * A/B of two builds on this machine, where run-to-run noise (±30% between runs minutes apart) hides
 * a 10% change: both servers run side by side against one private Redis seeded once, and are loaded
 * in alternating short slices (A B B A A B ...), so drift hits both alike; the verdict is the median
 * of the per-pair ratios. Before loading, both must give byte-identical answers to the same requests.
 *
 *   git worktree add /tmp/base <rev> && ln -s "$PWD/node_modules" /tmp/base/ && (cd /tmp/base && npx tsc -p tsconfig.build.json)
 *   npm run build && node --import tsx bench/ab.ts /tmp/base [--workload 1x50,100x50] [--pairs 6] [--seconds 3]
 *
 * A is the other checkout, B this one. `--workers-a N` / `--workers-b N` run that side as
 * `platter serve --workers N`; with `.` as the other checkout, that compares worker counts of one
 * build. `--node-args-a='...'` / `--node-args-b='...'` pass node flags to that side's server
(e.g. a V8 heap setting). Closed loop, BENCH_CONNECTIONS in flight: HTTP through autocannon by default;
 * `--transport grpc` (grpc-js client) or `--transport grpc-h2` (bare HTTP/2 client, so more of the
 * machine goes to the server) for GetOnlineFeatures over gRPC. Server CPU per request comes from
 * each server process's own accounting.
 */
import { parseArgs } from 'node:util';
import { postJson, PATH, runAutocannon } from './http.js';
import { frame, grpcRequest, openChannels, servingCodec } from './grpc.js';
import { closedLoop } from './lib/closed-loop.js';
import { procCpu } from './lib/cpu.js';
import { findRedis } from './lib/redis.js';
import { writeBenchRepo } from './lib/repo.js';
import { startServer, type ServerProcess } from './lib/server.js';
import { readSettings } from './lib/settings.js';
import { seedRepo } from './seed.js';
import { httpBody, requestPool, selectWorkloads } from './workloads.js';

const { values, positionals } = parseArgs({
  options: {
    workload: { type: 'string', short: 'w' },
    pairs: { type: 'string' },
    seconds: { type: 'string' },
    'workers-a': { type: 'string' },
    'workers-b': { type: 'string' },
    transport: { type: 'string' },
    'node-args-a': { type: 'string' },
    'node-args-b': { type: 'string' },
  },
  allowPositionals: true,
});
const other = positionals[0];
if (other === undefined) {
  console.error('usage: node --import tsx bench/ab.ts <other checkout with dist/ built> [--workload 1x50,100x50] [--pairs 6] [--seconds 3] [--workers-a N] [--workers-b N] [--node-args-a FLAGS] [--node-args-b FLAGS] [--transport http|grpc|grpc-h2]');
  process.exit(2);
}
const transport = values.transport ?? 'http';
if (transport !== 'http' && transport !== 'grpc' && transport !== 'grpc-h2') {
  console.error(`--transport ${transport}: use http, grpc or grpc-h2`);
  process.exit(2);
}
const workloads = selectWorkloads((values.workload ?? '1x50,100x50').split(','));
const pairs = Number(values.pairs ?? 6);
const ms = Number(values.seconds ?? 3) * 1000;
const settings = readSettings();
const log = (m: string) => process.stderr.write(`[ab] ${m}\n`);

const redis = await findRedis(null, 'private');
const project = `ab_${process.pid}`;
const repo = writeBenchRepo(project, redis);
const servers: ServerProcess[] = [];
const closers: (() => void)[] = [];
try {
  const baseSeconds = Math.floor(Date.now() / 1000);
  const seeded = await seedRepo(repo.dir, settings.entities, baseSeconds);
  log(`seeded ${seeded.rowsWritten} rows in ${(seeded.ms / 1000).toFixed(1)} s`);
  const nodeArgs = (side: 'a' | 'b') => (values[`node-args-${side}`] ?? '').split(' ').filter(Boolean);
  const a = await startServer({
    repoDir: repo.dir,
    ...(other === '.' ? {} : { root: other }),
    workers: Number(values['workers-a'] ?? 1),
    nodeArgs: nodeArgs('a'),
  });
  servers.push(a);
  const b = await startServer({ repoDir: repo.dir, workers: Number(values['workers-b'] ?? 1), nodeArgs: nodeArgs('b') });
  servers.push(b);
  const named: [string, ServerProcess][] = [
    ['A', a],
    ['B', b],
  ];
  for (const w of workloads) {
    const pool = requestPool(w, settings.poolSize, settings.entities, settings.seed);
    const bodies = pool.map((ids) => httpBody(w, ids));
    for (const body of bodies.slice(0, 5)) {
      const [ra, rb] = [await postJson(a.httpUrl + PATH, body), await postJson(b.httpUrl + PATH, body)];
      if (ra.status !== 200 || ra.text !== rb.text) throw new Error(`${w.name}: A and B answer differently (${ra.status}/${rb.status}) to ${body.slice(0, 200)}`);
    }
    const load = new Map<ServerProcess, (ms: number) => Promise<{ ok: number; elapsedMs: number }>>();
    if (transport === 'http') {
      for (const s of [a, b]) load.set(s, (t) => runAutocannon(s.httpUrl, bodies, settings.connections, 1, t));
    } else {
      const { serialize } = servingCodec();
      const msgs = pool.map((ids) => serialize(grpcRequest(w, ids)));
      const framed = msgs.map(frame);
      const answers: Buffer[] = [];
      for (const s of [a, b]) {
        const channels = await openChannels(transport === 'grpc' ? 'grpc-js' : 'h2', s.grpcAddress, settings.grpcChannels);
        closers.push(() => channels.close());
        answers.push(await channels.send(0, msgs[0]!, framed[0]!));
        load.set(s, (t) => closedLoop(async (seq) => (await channels.send(seq, msgs[seq % msgs.length]!, framed[seq % msgs.length]!)).length, settings.connections, t));
      }
      if (!answers[0]!.equals(answers[1]!)) throw new Error(`${w.name}: A and B answer differently over gRPC`);
    }
    const slice = async (s: ServerProcess) => {
      const cpu0 = procCpu(s.pid)!;
      const raw = await load.get(s)!(ms);
      const cpu1 = procCpu(s.pid)!;
      return { rps: raw.ok / (raw.elapsedMs / 1000), srv: (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / Math.max(1, raw.ok) };
    };
    await slice(a); // warm-up, both
    await slice(b);
    const ratios: { rps: number; srv: number }[] = [];
    for (let p = 0; p < pairs; p++) {
      const order = p % 2 === 0 ? named : [...named].reverse();
      const got: Record<string, { rps: number; srv: number }> = {};
      for (const [name, s] of order) got[name] = await slice(s);
      const [ga, gb] = [got.A!, got.B!];
      ratios.push({ rps: gb.rps / ga.rps, srv: gb.srv / ga.srv });
      log(`${w.name} pair ${p + 1}: A ${ga.rps.toFixed(0)} req/s ${ga.srv.toFixed(0)} µs | B ${gb.rps.toFixed(0)} req/s ${gb.srv.toFixed(0)} µs`);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    console.log(
      `${w.name.padEnd(8)} B/A req/s median ${median(ratios.map((r) => r.rps)).toFixed(3)} (${ratios.map((r) => r.rps.toFixed(2)).join(' ')}); ` +
        `B/A server µs/req median ${median(ratios.map((r) => r.srv)).toFixed(3)} (${ratios.map((r) => r.srv.toFixed(2)).join(' ')})`,
    );
  }
} finally {
  for (const close of closers) close();
  for (const s of servers) await s.stop();
  repo.remove();
  await redis.stop();
}
