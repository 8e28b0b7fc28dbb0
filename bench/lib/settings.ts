/**
 * Bench knobs, read once from the environment. Every run records them in its results file, so a
 * number can always be traced back to the settings that produced it.
 */

function num(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    throw new Error(`${name}=${raw}: expected a number >= ${min}`);
  }
  return n;
}

function list(name: string, fallback: string): string[] {
  const raw = process.env[name] ?? fallback;
  if (raw === '0' || raw === 'none') return [];
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

export interface OpenRamp {
  readonly workload: string;
  /** Requests per second, one open-loop cell each. */
  readonly rates: readonly number[];
}

/** `1x50:500,1000,2000;100x50:100,200,400` -> ramps. */
function ramps(name: string, fallback: string): OpenRamp[] {
  const raw = process.env[name] ?? fallback;
  if (raw.trim() === '' || raw === '0' || raw === 'none') return [];
  return raw.split(';').filter((s) => s.trim() !== '').map((part) => {
    const [workload, rates] = part.split(':');
    const rs = (rates ?? '').split(',').map(Number);
    if (!workload || rs.length === 0 || rs.some((r) => !Number.isFinite(r) || r <= 0)) {
      throw new Error(`${name}=${raw}: expected WORKLOAD:RATE,RATE;WORKLOAD:RATE,... (e.g. 1x50:500,1000,2000)`);
    }
    return { workload: workload.trim(), rates: rs };
  });
}

export interface Settings {
  /** Concurrent connections (HTTP) / in-flight calls (gRPC, Redis ceilings). */
  readonly connections: number;
  /** Measured seconds per closed-loop cell. */
  readonly durationS: number;
  /** Unmeasured seconds before each closed-loop cell (JIT, connection setup, Redis caches). */
  readonly warmupS: number;
  /** HTTP/1.1 requests in flight per connection (autocannon -p). */
  readonly pipelining: number;
  /** gRPC channels (HTTP/2 connections) the load loop spreads its calls over. */
  readonly grpcChannels: number;
  /** Decode every gRPC response in the load loop, as a real client would (costs client CPU). */
  readonly grpcDecode: boolean;
  /** Distinct request bodies per workload; the load rotates through them. */
  readonly poolSize: number;
  /** Entities seeded (ids 1..N). */
  readonly entities: number;
  /** PRNG seed of the request pools. */
  readonly seed: number;
  /** Open-loop rate ramps (workload + rates); each rate runs on `platter serve` and on the static server. */
  readonly openRamps: readonly OpenRamp[];
  /** Scheduled seconds per open-loop cell. */
  readonly openDurationS: number;
  /** Keep-alive sockets of the open-loop generator. */
  readonly openConnections: number;
  /** Seconds the open loop waits for the last responses after the schedule ends. */
  readonly openDrainS: number;
  /** Run the open-loop generator's self-test (slow server, sustainable and unsustainable rate) in the run. */
  readonly selfTest: boolean;
  /** Workloads measured again with the other Redis hash encoding (empty: no second pass). */
  readonly encodingWorkloads: readonly string[];
  /** Targets of that second pass. */
  readonly encodingTargets: readonly string[];
  /** Second pass: reseed through the writer instead of re-encoding the first pass's hashes with DUMP/RESTORE. */
  readonly encodingReseed: boolean;
  /** Closed-loop cells measured while other processes kept more than 0.3 cores busy are measured again (once each), up to this many per run. */
  readonly retryNoisy: number;
  /** Exit 1 when any request failed under load (answers are always checked first; a wrong answer always exits 1). */
  readonly failOnErrors: boolean;
  /** Extra node flags for the server child (BENCH_SERVER_NODE_ARGS, space-separated), e.g. --cpu-prof. */
  readonly serverNodeArgs: readonly string[];
  /** `platter serve --workers` (BENCH_SERVER_WORKERS); its CPU is the primary's plus every worker's. */
  readonly serverWorkers: number;
  /** Redis to seed and serve from; unset = a private redis-server (or 127.0.0.1:6379 with BENCH_REDIS=shared). */
  readonly redisUrl: string | null;
  readonly redisMode: 'private' | 'shared';
}

export function readSettings(): Settings {
  const mode = process.env.BENCH_REDIS ?? 'private';
  if (mode !== 'private' && mode !== 'shared') throw new Error(`BENCH_REDIS=${mode}: expected private or shared`);
  return {
    connections: num('BENCH_CONNECTIONS', 16, 1),
    durationS: num('BENCH_DURATION', 4, 0.5),
    warmupS: num('BENCH_WARMUP', 0.5, 0),
    pipelining: num('BENCH_PIPELINING', 1, 1),
    grpcChannels: num('BENCH_GRPC_CHANNELS', 1, 1),
    grpcDecode: process.env.BENCH_GRPC_DECODE === '1',
    poolSize: num('BENCH_POOL', 1000, 1),
    entities: num('BENCH_ENTITIES', 10_000, 1),
    seed: num('BENCH_SEED', 42, 0),
    openRamps: ramps('BENCH_OPEN_RAMPS', '1x50:500,1000,2000;100x50:50,100,200,400'),
    openDurationS: num('BENCH_OPEN_DURATION', 5, 0.5),
    openConnections: num('BENCH_OPEN_CONNECTIONS', 16, 1),
    openDrainS: num('BENCH_OPEN_DRAIN', 2, 0),
    selfTest: process.env.BENCH_SELFTEST !== '0',
    encodingWorkloads: list('BENCH_ENCODING_PASS', '100x50,100x250'),
    encodingTargets: list('BENCH_ENCODING_TARGETS', 'http,redis-hmget,redis-resp'),
    encodingReseed: process.env.BENCH_ENCODING_RESEED === '1',
    retryNoisy: num('BENCH_RETRY_NOISY', 3, 0),
    failOnErrors: process.env.BENCH_FAIL_ON_ERRORS === '1',
    serverWorkers: num('BENCH_SERVER_WORKERS', 1, 1),
    serverNodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    redisUrl: process.env.REDIS_URL || null,
    redisMode: mode,
  };
}
