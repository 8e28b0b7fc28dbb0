/**
 * The server's own view of a window's latency, from `platter_request_duration_seconds` on its
 * admin port (src/ops/request-metrics.ts): the histogram is scraped before and after the window
 * and the quantiles of the difference are read off the bucket bounds. Coarse (a bound, not a
 * value), but it says whether a slow client-side p99 was slow inside the server or around it.
 */

/** Cumulative counts by upper bound (seconds; Infinity for +Inf) of one transport's `ok` series. */
export type Histogram = Map<number, number>;

export async function scrapeHistogram(adminUrl: string, transport: 'http' | 'grpc'): Promise<Histogram> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const out: Histogram = new Map();
  const re = new RegExp(`^platter_request_duration_seconds_bucket\\{transport="${transport}",outcome="ok",le="([^"]+)"(?:,[^}]*)?\\} (\\d+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    out.set(le, (out.get(le) ?? 0) + Number(m[2]));
  }
  return out;
}

/** The smallest bucket bound (ms) under which `q` of the requests between the scrapes finished. */
export function quantileBoundMs(before: Histogram, after: Histogram, q: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return null;
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le * 1000;
  }
  return null;
}
