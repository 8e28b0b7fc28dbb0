/**
 * Feature requests served, and how long the server took for each, per transport and outcome:
 * `platter_request_duration_seconds{transport, outcome}`, a Prometheus histogram. The time runs
 * from the transport having the request (uWS handler call, HTTP/2 stream opened) to its answer
 * handed to the socket; what the kernel and the client add is not in it, which is the point: set
 * beside a client's latency it tells the server's share from the machine's.
 *
 * Recording is a bucket search over a few bounds (most requests land in the first three) and two
 * additions, into arrays allocated once; rendering happens on scrape only.
 */
import type { MetricFamily, MetricSample } from './metrics.js';

export type RequestTransport = 'http' | 'grpc';
/** `cancelled`: the client went away before the answer. */
export type RequestOutcome = 'ok' | 'client_error' | 'server_error' | 'cancelled';

/**
 * Upper bounds in milliseconds. Fine from 50 µs to 10 ms, where a sub-millisecond server's p50
 * and p99 fall (and where a VM's wake-up delays show), coarse above.
 */
const BOUNDS_MS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;
const TRANSPORTS: readonly RequestTransport[] = ['http', 'grpc'];
const OUTCOMES: readonly RequestOutcome[] = ['ok', 'client_error', 'server_error', 'cancelled'];

/** The outcome of an answer with this HTTP-style status (gRPC statuses are mapped by the caller). */
export function outcomeOfStatus(httpStatus: number): RequestOutcome {
  return httpStatus < 400 ? 'ok' : httpStatus < 500 ? 'client_error' : 'server_error';
}

export class RequestMetrics {
  /** Per (transport, outcome): a count per bucket, the last one for +Inf. */
  readonly #buckets: Float64Array[] = [];
  readonly #sumMs = new Float64Array(TRANSPORTS.length * OUTCOMES.length);

  constructor() {
    for (let i = 0; i < TRANSPORTS.length * OUTCOMES.length; i++) this.#buckets.push(new Float64Array(BOUNDS_MS.length + 1));
  }

  /** One answered request that took `ms` milliseconds of server time. */
  observe(transport: RequestTransport, outcome: RequestOutcome, ms: number): void {
    const at = TRANSPORTS.indexOf(transport) * OUTCOMES.length + OUTCOMES.indexOf(outcome);
    let b = 0;
    while (b < BOUNDS_MS.length && ms > BOUNDS_MS[b]!) b++;
    this.#buckets[at]![b]!++;
    this.#sumMs[at]! += ms;
  }

  families(): MetricFamily[] {
    const samples: MetricSample[] = [];
    TRANSPORTS.forEach((transport, t) =>
      OUTCOMES.forEach((outcome, o) => {
        const at = t * OUTCOMES.length + o;
        const counts = this.#buckets[at]!;
        let total = 0;
        for (const c of counts) total += c;
        // Outcomes that never happened are left out, as client libraries do for unseen label sets.
        if (total === 0 && outcome !== 'ok') return;
        let cumulative = 0;
        BOUNDS_MS.forEach((bound, b) => {
          cumulative += counts[b]!;
          samples.push({ suffix: '_bucket', labels: { transport, outcome, le: String(bound / 1000) }, value: cumulative });
        });
        samples.push({ suffix: '_bucket', labels: { transport, outcome, le: '+Inf' }, value: total });
        samples.push({ suffix: '_sum', labels: { transport, outcome }, value: this.#sumMs[at]! / 1000 });
        samples.push({ suffix: '_count', labels: { transport, outcome }, value: total });
      }),
    );
    return [
      {
        name: 'platter_request_duration_seconds',
        help: 'Feature requests (POST /get-online-features, GetOnlineFeatures): server time from request to answer handed to the socket.',
        type: 'histogram',
        samples,
      },
    ];
  }
}
