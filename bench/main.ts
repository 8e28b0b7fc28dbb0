/**
 * `npm run bench [-- --workload NAME[,NAME]] [--transport http,grpc,...] [--list] [--selftest]`.
 * Knobs are environment variables (lib/settings.ts, README.md).
 */
import { parseArgs } from 'node:util';
import { renderOpenTable } from './lib/report.js';
import { runBench, selfTest, TARGETS } from './lib/run.js';
import { readSettings } from './lib/settings.js';
import { WORKLOADS } from './workloads.js';

const { values } = parseArgs({
  options: {
    workload: { type: 'string', short: 'w', multiple: true },
    transport: { type: 'string', short: 't', multiple: true },
    list: { type: 'boolean' },
    selftest: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

const split = (v: string[] | undefined) => (v ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);

if (values.help || values.list) {
  const s = readSettings();
  console.log('Workloads (* = run by default):');
  for (const w of WORKLOADS) console.log(`  ${w.byDefault ? '*' : ' '} ${w.name.padEnd(8)} ${w.description}`);
  console.log(`Transports (* = run by default): ${TARGETS.map((t) => `${t.byDefault ? '*' : ''}${t.name}`).join(', ')}`);
  console.log(`Open-loop ramps (BENCH_OPEN_RAMPS): ${s.openRamps.map((r) => `${r.workload} at ${r.rates.join(', ')}/s`).join('; ') || 'none'}`);
  console.log(`Second hash-encoding pass (BENCH_ENCODING_PASS / _TARGETS): ${s.encodingWorkloads.join(', ') || 'none'} on ${s.encodingTargets.join(', ')}`);
  console.log('Usage: npm run bench -- [--workload 1x50,100x50 | all] [--transport http,naive,... | all] [--selftest]');
} else if (values.selftest) {
  // Only the open-loop generator's self-test: no Redis, no server.
  const rows = await selfTest(null, null);
  console.log(renderOpenTable(rows));
  process.exitCode = rows[0]!.overloaded || !rows[1]!.overloaded ? 1 : 0;
} else {
  process.exitCode = await runBench({ workloads: split(values.workload), transports: split(values.transport) });
}
