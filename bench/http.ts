/**
 * HTTP targets, each `POST /get-online-features` with the workload's pool of bodies:
 *
 * - `http`: `platter serve`;
 * - `naive`: the hand-written baseline (baselines/naive-server.ts: node:http + ioredis, one await
 *   per entity, protobufjs, JSON.stringify), one child for the whole run;
 * - `static`: the noise floor (baselines/static-server.ts: uWS answering the body `platter serve`
 *   gave for the pool's first request), one child for the whole run, its body set per workload.
 *
 * Closed loop: autocannon (programmatic), `BENCH_CONNECTIONS` keep-alive connections,
 * `BENCH_PIPELINING` requests in flight on each; every connection walks the pool from its own
 * offset. Latency is recorded per response at µs resolution (lib/latency.ts).
 * Open loop: lib/open-loop.ts at a fixed rate, `BENCH_OPEN_CONNECTIONS` sockets.
 */
import autocannon from 'autocannon';
import { CheckFailure, checkResponse, normalizeJson } from './lib/check.js';
import { LatencyRecorder } from './lib/latency.js';
import { httpPost, openLoop } from './lib/open-loop.js';
import { startBaseline, type ChildServer } from './lib/server.js';
import type { BenchContext, PreparedLoad, RawLoad, Target } from './lib/types.js';
import { checkIds, httpBody, type Workload } from './workloads.js';

export const PATH = '/get-online-features';
const HEADERS = { 'content-type': 'application/json' };

export async function postJson(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: HEADERS, body });
  return { status: res.status, text: await res.text() };
}

async function checkedPost(name: string, base: string, w: Workload, ids: readonly number[], ctx: BenchContext): Promise<string> {
  let res: { status: number; text: string };
  try {
    res = await postJson(base + PATH, httpBody(w, ids));
  } catch (err) {
    throw new CheckFailure(`${name}: workload ${w.name}: ${(err as Error).message}`);
  }
  if (res.status !== 200) throw new CheckFailure(`${name}: workload ${w.name}: status ${res.status}: ${res.text.slice(0, 500)}`);
  checkResponse(name, w, ids, normalizeJson(JSON.parse(res.text)), ctx);
  return res.text;
}

/** Closed- and open-loop HTTP load against one server. `checkShapes`: check the workload's shapes, not just pool[0]. */
function httpLoad(
  name: string,
  ctx: BenchContext,
  w: Workload,
  pool: readonly (readonly number[])[],
  server: { host: string; port: number; pid: number },
  opts: { checkShapes: boolean },
): PreparedLoad {
  const base = `http://${server.host}:${server.port}`;
  const bodies = pool.map((ids) => httpBody(w, ids));
  let raw: Buffer[] | null = null;
  return {
    serverPid: server.pid,
    async check() {
      // A static server answers every request with pool[0]'s body, so only that request is checked.
      const reqs = opts.checkShapes ? [checkIds(w, ctx.entities), ...pool.slice(0, 3)] : pool.slice(0, 1);
      for (const ids of reqs) await checkedPost(name, base, w, ids, ctx);
    },
    run: (ms) => runAutocannon(base, bodies, ctx.settings.connections, ctx.settings.pipelining, ms),
    openLoop: (rate, ms) => {
      raw ??= bodies.map((b) => httpPost(server.host, server.port, PATH, b));
      return openLoop({
        host: server.host,
        port: server.port,
        requests: raw,
        rate,
        durationMs: ms,
        connections: ctx.settings.openConnections,
        drainMs: ctx.settings.openDrainS * 1000,
      });
    },
    close: async () => undefined,
  };
}

/** `platter serve`. */
export const httpTarget: Target = {
  name: 'http',
  byDefault: true,
  prepare: async (ctx, w, pool) =>
    httpLoad('http', ctx, w, pool, { host: '127.0.0.1', port: ctx.server.port, pid: ctx.server.pid }, { checkShapes: true }),
};

/** The naive baseline server (started once per run by the runner). */
export const naiveTarget: Target = {
  name: 'naive',
  byDefault: true,
  needs: 'naive',
  async prepare(ctx, w, pool) {
    if (!ctx.naive) throw new Error('naive: the baseline server is not running');
    return httpLoad('naive', ctx, w, pool, ctx.naive, { checkShapes: true });
  },
};

export function startNaiveServer(ctx: { redis: BenchContext['redis']; project: string }): Promise<ChildServer> {
  const r = ctx.redis;
  return startBaseline('naive-server.ts', [
    '--redis',
    `${r.host}:${r.port}`,
    '--project',
    ctx.project,
    ...(r.password !== null ? ['--password', r.password] : []),
    ...(r.db !== 0 ? ['--db', String(r.db)] : []),
  ]);
}

/** The static-response noise floor: answers `platter serve`'s own (checked) response to pool[0], whatever is asked. */
export const staticTarget: Target = {
  name: 'static',
  byDefault: true,
  needs: 'static',
  async prepare(ctx, w, pool) {
    const srv = ctx.staticServer;
    if (!srv) throw new Error('static: the static server is not running');
    const body = await checkedPost('static (platter response used as its body)', ctx.server.httpUrl, w, pool[0]!, ctx);
    const res = await fetch(`${srv.httpUrl}/__body`, { method: 'PUT', body });
    if (!res.ok || (await res.text()) !== String(Buffer.byteLength(body))) throw new Error('static: could not set the response body');
    return httpLoad('static', ctx, w, pool, srv, { checkShapes: false });
  },
};

export const startStaticServer = (): Promise<ChildServer> => startBaseline('static-server.ts', []);

export async function runAutocannon(base: string, bodies: readonly string[], connections: number, pipelining: number, ms: number): Promise<RawLoad> {
  const latency = new LatencyRecorder();
  let ok = 0;
  let failed = 0;
  let bytes = 0;
  let nextClient = 0;
  let firstError: string | null = null;
  const stride = Math.max(1, Math.floor(bodies.length / connections));
  const start = performance.now();
  const instance = autocannon({
    url: base,
    connections,
    pipelining,
    duration: ms / 1000,
    // Placeholder; every client replaces its request list in setupClient.
    requests: [{ method: 'POST', path: PATH, headers: HEADERS, body: bodies[0]! }],
    setupClient: (client) => {
      const offset = (nextClient++ * stride) % bodies.length;
      const list = bodies.map((_, i) => ({ method: 'POST', path: PATH, headers: HEADERS, body: bodies[(offset + i) % bodies.length]! }));
      client.setRequests(list);
    },
  });
  instance.on('response', (_client, status, resBytes, responseTime) => {
    if (status >= 200 && status < 300) {
      ok++;
      bytes += resBytes;
      latency.record(responseTime);
    } else {
      failed++;
      firstError ??= `HTTP ${status}`;
    }
  });
  instance.on('reqError', (err: Error) => {
    firstError ??= err.message;
  });
  const result = await instance;
  const elapsedMs = performance.now() - start;
  return { ok, errors: failed + result.errors + result.timeouts, elapsedMs, latency, bytes, firstError };
}
