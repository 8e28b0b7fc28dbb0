/**
 * The open-loop generator measures what it claims (run: node --import tsx --test bench/lib/open-loop.test.ts;
 * not part of `npm test`). Against a server that spends 10 ms of CPU per request (capacity ~100/s):
 * at 25/s latency is flat and the run is not overloaded; at 200/s latency grows over the run and
 * the verdict says overloaded. Against a fast server that stalls once for 300 ms, every request due
 * during the stall carries the stall (latency from the scheduled time), which a closed loop hides.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpPost, openLoop } from './open-loop.js';
import { startSlowServer } from './slow-server.js';

test('a sustainable rate shows flat latency', async () => {
  const s = await startSlowServer({ busyMs: 10 });
  try {
    const r = await openLoop({ host: '127.0.0.1', port: s.port, requests: [httpPost('127.0.0.1', s.port, '/', '{}')], rate: 25, durationMs: 3000, connections: 8 });
    assert.equal(r.errors, 0);
    assert.equal(r.completed, 75);
    assert.equal(r.overloaded, false, r.verdict);
    const all = r.latency.summary();
    assert.ok(all.p50 >= 10 && all.p50 < 40, `p50 ${all.p50} ms: one request costs 10 ms`);
    assert.ok(r.growth < 1.5, `latency grew ${r.growth}x from first to last third`);
  } finally {
    await s.close();
  }
});

test('a rate above capacity shows growing latency and is reported overloaded', async () => {
  const s = await startSlowServer({ busyMs: 10 });
  try {
    const r = await openLoop({ host: '127.0.0.1', port: s.port, requests: [httpPost('127.0.0.1', s.port, '/', '{}')], rate: 200, durationMs: 2000, connections: 16, drainMs: 4000 });
    assert.equal(r.overloaded, true);
    assert.ok(r.achievedRps < 0.75 * 200, `achieved ${r.achievedRps}/s`);
    assert.ok(r.lastThird.p50 > 3 * r.firstThird.p50, `p50 ${r.firstThird.p50} -> ${r.lastThird.p50} ms: latency must grow`);
    assert.match(r.verdict, /latency grew/);
    const seconds = r.perSecond.map((p) => p.p50);
    assert.ok(seconds[1]! > seconds[0]!, `per-second p50 ${seconds.join(', ')} must rise`);
  } finally {
    await s.close();
  }
});

test('a stall shows in every request due during it (no coordinated omission)', async () => {
  const s = await startSlowServer({ busyMs: 0, stallAtMs: 800, stallMs: 300 });
  try {
    const r = await openLoop({ host: '127.0.0.1', port: s.port, requests: [httpPost('127.0.0.1', s.port, '/', '{}')], rate: 200, durationMs: 2000, connections: 16 });
    assert.equal(r.errors, 0);
    const all = r.latency.summary();
    // ~60 of 400 requests were due during the 300 ms stall: the slowest 10% waited 100 ms or more.
    assert.ok(all.p90 > 30, `p90 ${all.p90} ms must carry the stall`);
    assert.ok(all.max > 200, `max ${all.max} ms`);
  } finally {
    await s.close();
  }
});
