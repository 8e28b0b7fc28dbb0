/**
 * Markdown tables for the README's Performance section, from a results file (so no number is
 * typed by hand):
 *
 *   node --import tsx bench/summarize.ts bench/results/<file>.json
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { EncodingPass, OpenRow, ResultRow, TargetCheck } from './lib/report.js';
import { evaluateTargets } from './lib/targets.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node --import tsx bench/summarize.ts bench/results/<file>.json\n');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(file, 'utf8')) as {
  commit: string | null;
  commitDirty: boolean | null;
  srcChanges: string[] | null;
  node: string;
  wallSeconds: number;
  argv: string[];
  redis: { version: string; origin: string };
  machine: { cpuModel: string; cpuCount: number; platform: string; totalMemGiB: number };
  settings: { connections: number; durationS: number; openDurationS: number };
  encodings: EncodingPass[];
  targets: TargetCheck[];
  rows: ResultRow[];
  openLoop: OpenRow[];
};

const n = (v: number | null | undefined, d = 0) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const ms = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v < 10 ? n(v, 2) : v < 100 ? n(v, 1) : n(v));
const x = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : `${v < 10 ? v.toFixed(2) : v.toFixed(1)}x`);
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

const out: string[] = [];
out.push(
  `Results file \`bench/results/${basename(file)}\`: commit ${doc.commit?.slice(0, 7) ?? '?'}${doc.commitDirty ? ' plus uncommitted changes' : ''}` +
    `${doc.srcChanges && doc.srcChanges.length > 0 ? ` (src: ${doc.srcChanges.map((l) => l.slice(3)).join(', ')})` : doc.commitDirty ? ' outside src/ (src/ as committed)' : ''}; ` +
    `${doc.machine.cpuCount} x ${doc.machine.cpuModel}, ${doc.machine.totalMemGiB} GiB, ${doc.machine.platform}; Node ${doc.node}; ` +
    `Redis ${doc.redis.version} (${doc.redis.origin}); ${doc.settings.connections} connections, ${doc.settings.durationS} s per closed-loop cell, ` +
    `${doc.settings.openDurationS} s per open-loop cell; the run took ${Math.round(doc.wallSeconds)} s.`,
  '',
);

const workloads = [...new Set(doc.rows.map((r) => r.workload))];
const encodings = [...new Set(doc.rows.map((r) => r.encoding))];
for (const enc of encodings) {
  out.push(`Closed loop, hash encoding **${enc}** (\`srv µs\`: server process CPU per request; \`cli µs\`: the bench process's):`, '');
  const body: string[][] = [];
  for (const w of workloads) {
    const get = (t: string) => doc.rows.find((r) => r.workload === w && r.encoding === enc && r.transport === t);
    const http = get('http');
    if (!http) continue;
    const grpc = get('grpc');
    const naive = get('naive');
    const stat = get('static');
    const ceil = get('redis-ceiling');
    const hmget = get('redis-hmget');
    const resp = get('redis-resp');
    body.push([
      w,
      `${n(http.rps)}${http.errors > 0 ? ` (${http.errors} err)` : ''}`,
      `${ms(http.latencyMs.p50)} / ${ms(http.latencyMs.p99)}`,
      http.errors > http.requests ? '-' : n(http.serverCpuUsPerReq),
      grpc ? `${n(grpc.rps)}${grpc.errors > 0 ? ` (${grpc.errors} err)` : ''}` : '-',
      naive ? `${n(naive.rps)} (${x(http.ratios?.rpsVsNaive)})` : '-',
      stat ? `${n(stat.rps)}, p99 ${ms(stat.latencyMs.p99)}` : '-',
      ceil ? `${n(ceil.rps)}, ${n(ceil.clientCpuUsPerReq)}` : '-',
      hmget ? `${n(hmget.rps)}, ${n(hmget.clientCpuUsPerReq)} (${x(http.ratios?.cpuVsIoredis)})` : '-',
      resp ? `${n(resp.rps)}, ${n(resp.clientCpuUsPerReq)} (${x(http.ratios?.cpuVsResp)})` : '-',
      resp ? n(resp.redisCpuUsPerReq) : '-',
      n(http.respBytes),
    ]);
  }
  out.push(
    table(
      [
        'workload', 'http req/s', 'p50 / p99 ms', 'srv µs', 'grpc req/s', 'naive req/s (http ÷)', 'static req/s, p99 ms', 'product reader req/s, cli µs',
        'ioredis HMGET req/s, cli µs (srv ÷)', 'RESP floor req/s, cli µs (srv ÷)', 'Redis µs/req', 'resp bytes',
      ],
      body,
    ),
    '',
  );
}

if (doc.openLoop.length > 0) {
  out.push("Open loop (latency from each request's scheduled send time):", '');
  const rates = doc.openLoop.filter((r) => r.transport !== 'static');
  out.push(
    table(
      ['workload', 'target', 'rate/s', 'achieved/s', 'p50 / p99 / p99.9 ms', 'server p50 / p99 ≤ ms', 'static p99 ms', 'p99 ÷ static', 'p50 1st→last third ms', 'verdict'],
      rates.map((r) => {
        const st = doc.openLoop.find((s) => s.transport === 'static' && s.workload === r.workload && s.targetRps === r.targetRps);
        return [
          r.workload,
          r.transport === 'http' ? 'platter http' : r.transport,
          n(r.targetRps),
          n(r.achievedRps),
          `${ms(r.latencyMs.p50)} / ${ms(r.latencyMs.p99)} / ${ms(r.latencyMs.p999)}`,
          r.serverP99Ms == null ? '-' : `${ms(r.serverP50Ms ?? 0)} / ${ms(r.serverP99Ms)}`,
          st ? ms(st.latencyMs.p99) : '-',
          x(r.p99VsStatic),
          `${ms(r.firstThirdP50Ms)} → ${ms(r.lastThirdP50Ms)}`,
          r.overloaded ? `**overloaded** (${r.verdict.split(';')[0]})` : 'kept up',
        ];
      }),
    ),
    '',
  );
}

out.push('Redis hash encoding of the seeded hashes:', '');
out.push(
  table(
    ['pass', 'encoding', 'setting', 'fields/hash', 'bytes/hash', 'dataset MiB'],
    doc.encodings.map((e) => [e.pass, e.info.objectEncoding ?? '?', `\`${e.setting}\``, n(e.info.fieldsPerHash), n(e.info.bytesPerHash), n(e.info.datasetMiB, 1)]),
  ),
  '',
);

// Evaluated again from the rows, so files written before a target was added get its verdict too.
const targets = doc.rows.length > 0 ? evaluateTargets(doc.rows, doc.openLoop, doc.rows[0]!.encoding) : doc.targets;
out.push('Targets (issue item 3, default encoding):', '');
for (const t of targets) out.push(`- ${t.met === null ? 'n/a' : t.met ? '**met**' : '**missed**'}: ${t.description}: ${t.value}`);
process.stdout.write(`${out.join('\n')}\n`);
