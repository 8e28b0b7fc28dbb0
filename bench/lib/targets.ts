/**
 * The issue's targets (item 3), evaluated on one run's default-encoding rows, for both serving
 * transports ("targets, both transports, same run"). The open-loop targets are HTTP only: the
 * open-loop generator speaks HTTP. Also used by summarize.ts, so older results files get the same
 * verdicts.
 */
import type { OpenRow, ResultRow, TargetCheck } from './report.js';

const TRANSPORTS = ['http', 'grpc'] as const;

export function evaluateTargets(rows: readonly ResultRow[], openRows: readonly OpenRow[], encoding: string): TargetCheck[] {
  const out: TargetCheck[] = [];
  const row = (w: string, t: string) => rows.find((r) => r.workload === w && r.encoding === encoding && r.transport === t);
  const x = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '?' : `${v.toFixed(2)}x`);
  // CPU per request means little where requests failed (an overloaded store times out): such
  // workloads are listed, not compared.
  const failed = (w: string, t: string) => [t, 'redis-hmget', 'redis-resp'].some((name) => (row(w, name)?.errors ?? 0) > 0);
  for (const t of TRANSPORTS) {
    const label = t === 'http' ? '' : ` (${t})`;
    for (const w of ['1x50', '100x50']) {
      const r = row(w, t);
      const v = r?.ratios?.rpsVsNaive ?? null;
      if (r) out.push({ id: `rps-vs-naive-${w}${t === 'http' ? '' : `-${t}`}`, description: `${w}${label}: closed-loop req/s >= 5x the naive baseline`, value: x(v), met: v === null ? null : v >= 5 });
    }
    const withRatio = rows.filter((r) => r.transport === t && r.encoding === encoding && r.ratios?.cpuVsIoredis != null);
    const cpuRows = withRatio.filter((r) => !failed(r.workload, t));
    const skipped = withRatio.filter((r) => failed(r.workload, t)).map((r) => r.workload);
    if (cpuRows.length > 0) {
      out.push({
        id: `cpu-below-ioredis${t === 'http' ? '' : `-${t}`}`,
        description: `server CPU/request${label} below the ioredis pipeline ceiling's client CPU, every workload`,
        value:
          cpuRows.map((r) => `${r.workload} ${x(r.ratios!.cpuVsIoredis)}`).join(', ') +
          (skipped.length > 0 ? `; not comparable (requests failed under load): ${skipped.join(', ')}` : ''),
        met: cpuRows.every((r) => r.ratios!.cpuVsIoredis! < 1) && skipped.length === 0 ? true : cpuRows.some((r) => r.ratios!.cpuVsIoredis! >= 1) ? false : null,
      });
    }
    for (const w of ['100x50', '100x250']) {
      const r = row(w, t);
      const v = r?.ratios?.cpuVsResp ?? null;
      if (r) {
        out.push({
          id: `cpu-vs-resp-${w}${t === 'http' ? '' : `-${t}`}`,
          description: `${w}${label}: server CPU/request within 5x of the minimal RESP client's`,
          value: failed(w, t) ? `not comparable: requests failed under load (${x(v)})` : x(v),
          met: v === null || failed(w, t) ? null : v <= 5,
        });
      }
    }
  }
  const open = (w: string, rate: number) => openRows.find((r) => r.workload === w && r.transport === 'http' && r.targetRps === rate);
  const o1 = open('1x50', 2000);
  if (o1) {
    const ok = !o1.overloaded && o1.p99VsStatic != null && o1.p99VsStatic <= 2;
    out.push({
      id: 'open-1x50-2000',
      description: "1x50 open loop at 2,000/s: kept up, p99 <= 2x the static server's at the same rate",
      value: `${o1.overloaded ? `OVERLOADED (${o1.verdict})` : 'kept up'}, p99 ${o1.latencyMs.p99.toFixed(3)} ms = ${x(o1.p99VsStatic)} static`,
      met: o1.p99VsStatic == null ? null : ok,
    });
  }
  for (const [rate, label] of [
    [200, '100x50 open loop at 200/s without overload'],
    [400, '100x50 open loop at 400/s without overload (stretch)'],
  ] as const) {
    const o = open('100x50', rate);
    if (o) {
      out.push({
        id: `open-100x50-${rate}`,
        description: label,
        value: `${o.overloaded ? `OVERLOADED (${o.verdict})` : 'kept up'}, achieved ${Math.round(o.achievedRps)}/s, p99 ${o.latencyMs.p99.toFixed(2)} ms`,
        met: !o.overloaded,
      });
    }
  }
  return out;
}
