import type { FeatureCells } from './types.js';

/**
 * True when feature columns starting at cells `a` and `b` have the same status and event
 * timestamp in every one of their `n` rows. Features of one view almost always do, so renderers
 * write a column's statuses and timestamps once and copy those bytes for the next.
 */
export function sameStatusesAndTimestamps(cells: FeatureCells, a: number, b: number, n: number): boolean {
  const { statuses: st, tsSeconds: s, tsNanos: ns } = cells;
  for (let r = 0; r < n; r++) {
    if (st[a + r] !== st[b + r] || s[a + r] !== s[b + r] || ns[a + r] !== ns[b + r]) return false;
  }
  return true;
}
