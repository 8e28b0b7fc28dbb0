/**
 * Bench knobs, read once from the environment. Every run records them in its results file, so a
 * number can always be traced back to the settings that produced it.
 */

function int(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    throw new Error(`${name}=${raw}: expected a number >= ${min}`);
  }
  return n;
}

export interface Settings {
  /** Concurrent connections (HTTP) / in-flight calls (gRPC, Redis ceiling). */
  readonly connections: number;
  /** Measured seconds per run. */
  readonly durationS: number;
  /** Unmeasured seconds before each run (JIT, connection setup, Redis caches). */
  readonly warmupS: number;
  /** HTTP/1.1 requests in flight per connection (autocannon -p). */
  readonly pipelining: number;
  /** gRPC channels (HTTP/2 connections) the load loop spreads its calls over. */
  readonly grpcChannels: number;
  /** Decode every gRPC response in the load loop, as a real client would (costs client CPU). */
  readonly grpcDecode: boolean;
  /** Distinct request bodies per workload; the load rotates through them. */
  readonly poolSize: number;
  /** Entities seeded per view (ids 1..N). */
  readonly entities: number;
  /** PRNG seed of the request pools. */
  readonly seed: number;
  /** Extra node flags for the server child (BENCH_SERVER_NODE_ARGS, space-separated), e.g. --cpu-prof. */
  readonly serverNodeArgs: readonly string[];
  /** Redis to seed and serve from; unset = 127.0.0.1:6379, else a private redis-server. */
  readonly redisUrl: string | null;
}

export function readSettings(): Settings {
  return {
    connections: int('BENCH_CONNECTIONS', 16, 1),
    durationS: int('BENCH_DURATION', 10, 0.5),
    warmupS: int('BENCH_WARMUP', 2, 0),
    pipelining: int('BENCH_PIPELINING', 1, 1),
    grpcChannels: int('BENCH_GRPC_CHANNELS', 1, 1),
    grpcDecode: process.env.BENCH_GRPC_DECODE === '1',
    poolSize: int('BENCH_POOL', 1000, 1),
    entities: int('BENCH_ENTITIES', 10_000, 1),
    seed: int('BENCH_SEED', 42, 0),
    serverNodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    redisUrl: process.env.REDIS_URL || null,
  };
}
