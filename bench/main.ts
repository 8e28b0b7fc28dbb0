/**
 * `npm run bench [-- --workload NAME[,NAME]] [--transport http,grpc,redis-ceiling] [--list]`.
 * Knobs are environment variables (lib/settings.ts, README.md).
 */
import { parseArgs } from 'node:util';
import { runBench, TARGETS } from './lib/run.js';
import { WORKLOADS } from './workloads.js';

const { values } = parseArgs({
  options: {
    workload: { type: 'string', short: 'w', multiple: true },
    transport: { type: 'string', short: 't', multiple: true },
    list: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

const split = (v: string[] | undefined) => (v ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);

if (values.help || values.list) {
  console.log('Workloads (* = run by default):');
  for (const w of WORKLOADS) console.log(`  ${w.byDefault ? '*' : ' '} ${w.name.padEnd(8)} ${w.description}`);
  console.log(`Transports (* = run by default): ${TARGETS.map((t) => `${t.byDefault ? '*' : ''}${t.name}`).join(', ')}`);
  console.log('Usage: npm run bench -- [--workload 1x10,100x10 | all] [--transport http,grpc,... | all]');
} else {
  process.exitCode = await runBench({ workloads: split(values.workload), transports: split(values.transport) });
}
