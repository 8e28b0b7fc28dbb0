/**
 * Exact latency percentiles: every sample is kept (8 bytes each; a 10 s run at 50k req/s is 4 MB)
 * and sorted once at the end. autocannon's own histogram has 1 ms resolution, too coarse for a
 * server whose median is below a millisecond, so every transport records here instead.
 */

export interface LatencySummary {
  /** Milliseconds. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
  readonly count: number;
}

export class LatencyRecorder {
  #buf = new Float64Array(1 << 16);
  #n = 0;

  /** One sample in milliseconds. */
  record(ms: number): void {
    if (this.#n === this.#buf.length) {
      const next = new Float64Array(this.#buf.length * 2);
      next.set(this.#buf);
      this.#buf = next;
    }
    this.#buf[this.#n++] = ms;
  }

  get count(): number {
    return this.#n;
  }

  summary(): LatencySummary {
    const n = this.#n;
    const s = this.#buf.slice(0, n).sort();
    // Nearest-rank percentile: the smallest sample with at least q of the samples at or below it.
    const at = (q: number) => (n === 0 ? NaN : s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[i]!;
    return {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      p999: at(0.999),
      max: n === 0 ? NaN : s[n - 1]!,
      mean: n === 0 ? NaN : sum / n,
      count: n,
    };
  }
}
