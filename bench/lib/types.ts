/** Shapes shared by the load generators (http.ts, grpc.ts, redis-ceiling.ts) and the runner. */
import type { Settings } from './settings.js';
import type { LatencyRecorder } from './latency.js';
import type { OpenLoopResult } from './open-loop.js';
import type { RedisTarget } from './redis.js';
import type { ChildServer, ServerProcess } from './server.js';
import type { Workload } from '../workloads.js';

/** What one load window produced, before CPU accounting. */
export interface RawLoad {
  /** Requests answered successfully inside the window. */
  readonly ok: number;
  /** Failed requests (transport errors, non-2xx, gRPC errors). */
  readonly errors: number;
  readonly elapsedMs: number;
  readonly latency: LatencyRecorder;
  /** Response bytes received for the successful requests (see README: what each target counts). */
  readonly bytes: number;
  /** The first failure's message, if any. */
  readonly firstError?: string | null;
}

export interface BenchContext {
  readonly settings: Settings;
  /** The `platter serve` child (the Redis ceilings do not talk to it, but it runs throughout). */
  readonly server: ServerProcess;
  /** The naive baseline server child, when a selected target needs it. */
  readonly naive: ChildServer | null;
  /** The static-response server child, when a selected target needs it. */
  readonly staticServer: ChildServer | null;
  readonly redis: RedisTarget;
  readonly project: string;
  /** The temp feature repo (feature_store.yaml + registry) the server serves. */
  readonly repoDir: string;
  /** Seeded ids are 1..entities. */
  readonly entities: number;
  /** `eventSeconds(base, id)` gives each seeded row's event time. */
  readonly baseSeconds: number;
}

/** A load generator prepared for one workload. */
export interface PreparedLoad {
  /** The process whose CPU a row of this target charges per request (null: no server, e.g. the Redis ceilings). */
  readonly serverPid: number | null;
  /** Send a few requests and compare them with what was seeded; throws with the first difference. */
  check(): Promise<void>;
  /** Closed-loop load for `ms` milliseconds at the configured concurrency. */
  run(ms: number): Promise<RawLoad>;
  /** Open-loop load at a fixed rate for `ms` (HTTP targets). */
  openLoop?(rate: number, ms: number): Promise<OpenLoopResult>;
  close(): Promise<void>;
}

export interface Target {
  /** Column "transport" of the table: http, grpc, naive, static, redis-ceiling, ... */
  readonly name: string;
  /** Part of a plain `npm run bench`; the others run with --transport NAME. */
  readonly byDefault: boolean;
  /** A reference server child it needs running. */
  readonly needs?: 'naive' | 'static';
  prepare(ctx: BenchContext, w: Workload, pool: readonly (readonly number[])[]): Promise<PreparedLoad>;
}
