/**
 * A closed-loop generator: `concurrency` workers each issue one call, wait for it, and issue the
 * next, until the window ends. Throughput is what the system sustains at that concurrency and
 * latency includes no queueing in the generator (nor coordinated-omission correction: an
 * open-loop generator is the tool for that).
 */
import { LatencyRecorder } from './latency.js';
import type { RawLoad } from './types.js';

/** One call; resolves with the response bytes it received. `seq` picks the request from the pool. */
export type Call = (seq: number) => Promise<number>;

export async function closedLoop(call: Call, concurrency: number, ms: number): Promise<RawLoad> {
  const latency = new LatencyRecorder();
  let ok = 0;
  let errors = 0;
  let bytes = 0;
  let seq = 0;
  let firstError: unknown = null;
  const start = performance.now();
  const end = start + ms;
  const worker = async () => {
    while (performance.now() < end) {
      const s = seq++;
      const t0 = performance.now();
      try {
        // Not `bytes += await ...`: that reads `bytes` before the await and loses other workers' adds.
        const got = await call(s);
        latency.record(performance.now() - t0);
        bytes += got;
        ok++;
      } catch (err) {
        errors++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - start;
  // Failures under load (timeouts of an overloaded store, ...) are results: counted, not thrown.
  return { ok, errors, elapsedMs, latency, bytes, firstError: firstError === null ? null : String((firstError as Error).message ?? firstError) };
}
