/**
 * HTTP load: autocannon (programmatic) against `POST /get-online-features`, `BENCH_CONNECTIONS`
 * keep-alive connections, `BENCH_PIPELINING` requests in flight on each. Every connection walks
 * the workload's request pool from its own offset, so connections do not send the same ids in
 * lockstep. Latency is recorded per response at µs resolution (lib/latency.ts).
 */
import autocannon from 'autocannon';
import { CheckFailure, checkResponse, normalizeJson } from './lib/check.js';
import { LatencyRecorder } from './lib/latency.js';
import type { BenchContext, PreparedLoad, RawLoad, Target } from './lib/types.js';
import { checkIds, httpBody, type Workload } from './workloads.js';

const PATH = '/get-online-features';
const HEADERS = { 'content-type': 'application/json' };

export async function postJson(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: HEADERS, body });
  return { status: res.status, text: await res.text() };
}

export const httpTarget: Target = {
  name: 'http',
  usesServer: true,
  byDefault: true,
  async prepare(ctx: BenchContext, w: Workload, pool: readonly (readonly number[])[]): Promise<PreparedLoad> {
    const base = ctx.server.httpUrl;
    const bodies = pool.map((ids) => httpBody(w, ids));
    return {
      async check() {
        for (const ids of [checkIds(w, ctx.entities), ...pool.slice(0, 3)]) {
          const { status, text } = await postJson(base + PATH, httpBody(w, ids));
          if (status !== 200) throw new CheckFailure(`http: workload ${w.name}: status ${status}: ${text.slice(0, 500)}`);
          checkResponse('http', w, ids, normalizeJson(JSON.parse(text)), ctx);
        }
      },
      run: (ms) => runAutocannon(base, bodies, ctx.settings.connections, ctx.settings.pipelining, ms),
      close: async () => undefined,
    };
  },
};

async function runAutocannon(base: string, bodies: readonly string[], connections: number, pipelining: number, ms: number): Promise<RawLoad> {
  const latency = new LatencyRecorder();
  let ok = 0;
  let failed = 0;
  let bytes = 0;
  let nextClient = 0;
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
    }
  });
  const result = await instance;
  const elapsedMs = performance.now() - start;
  return { ok, errors: failed + result.errors + result.timeouts, elapsedMs, latency, bytes };
}
