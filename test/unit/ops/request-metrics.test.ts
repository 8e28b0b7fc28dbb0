/**
 * The request histogram in Prometheus's text format (exposition format 0.0.4): cumulative
 * `_bucket` lines with `le` in seconds ending at `+Inf`, then `_sum` and `_count`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderPrometheus } from '../../../src/ops/metrics.js';
import { RequestMetrics, outcomeOfStatus } from '../../../src/ops/request-metrics.js';

describe('RequestMetrics', () => {
  it('places each duration in its bucket, cumulatively, per transport and outcome', () => {
    const m = new RequestMetrics();
    m.observe('http', 'ok', 0.05); // <= 0.1 ms
    m.observe('http', 'ok', 0.1); // on a bound: that bucket (le is inclusive)
    m.observe('http', 'ok', 0.4); // <= 0.5 ms
    m.observe('http', 'ok', 20_000); // past every bound: +Inf only
    m.observe('grpc', 'client_error', 2);
    const text = renderPrometheus(m.families());
    const line = (labels: string) => new RegExp(`^platter_request_duration_seconds${labels} (\\S+)$`, 'm').exec(text)?.[1];
    assert.match(text, /^# TYPE platter_request_duration_seconds histogram$/m);
    assert.equal(line('_bucket\\{transport="http",outcome="ok",le="0.0001"\\}'), '2');
    assert.equal(line('_bucket\\{transport="http",outcome="ok",le="0.0003"\\}'), '2');
    assert.equal(line('_bucket\\{transport="http",outcome="ok",le="0.0005"\\}'), '3');
    assert.equal(line('_bucket\\{transport="http",outcome="ok",le="10"\\}'), '3');
    assert.equal(line('_bucket\\{transport="http",outcome="ok",le="\\+Inf"\\}'), '4');
    assert.equal(line('_count\\{transport="http",outcome="ok"\\}'), '4');
    assert.equal(Number(line('_sum\\{transport="http",outcome="ok"\\}')), (0.05 + 0.1 + 0.4 + 20_000) / 1000);
    assert.equal(line('_bucket\\{transport="grpc",outcome="client_error",le="0.0015"\\}'), '0');
    assert.equal(line('_bucket\\{transport="grpc",outcome="client_error",le="0.002"\\}'), '1');
    // A transport's ok series is always there (0 until a request); unseen error outcomes are not.
    assert.equal(line('_count\\{transport="grpc",outcome="ok"\\}'), '0');
    assert.equal(line('_count\\{transport="http",outcome="cancelled"\\}'), undefined);
  });

  it('maps HTTP statuses to outcomes', () => {
    assert.deepEqual([200, 400, 404, 413, 422, 500, 503, 504].map(outcomeOfStatus), ['ok', 'client_error', 'client_error', 'client_error', 'client_error', 'server_error', 'server_error', 'server_error']);
  });
});
