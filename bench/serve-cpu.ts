/**
 * The serving core's CPU per request with no I/O: HTTP body decode -> plan -> entity keys ->
 * statuses -> JSON (and gRPC bytes), against a store that answers from memory with every cell
 * filled, for the bench's feature repo (25 views x 10 INT64, services fs50..fs250). The network
 * and Redis costs are what `npm run bench` measures; this isolates the JavaScript, so a change to
 * the read path can be compared in seconds and with little noise (same machine, same minute).
 *
 *   node --import tsx bench/serve-cpu.ts [ROWS=1,10,100] [SERVICE=fs50] [SECONDS=3]
 */
import { encodeTimestamp } from '../src/encoding/timestamp.js';
import { encodeValue } from '../src/encoding/value-encode.js';
import { ValueType } from '../src/encoding/value-type.js';
import type { GroupLayout, OnlineReader, ReadBatch, ReadCells } from '../src/online/types.js';
import { encodeRegistry } from '../src/registry/definition.js';
import type { RegistryCache } from '../src/registry/registry-cache.js';
import { buildRegistryIndex } from '../src/registry/registry-index.js';
import { decodeRegistry } from '../src/registry/sources/decode.js';
import { OnlineFeatureService, releaseResult } from '../src/serving/online-features.js';
import { encodeOnlineFeaturesResponse } from '../src/transport/grpc/encode-response.js';
import { decodeOnlineFeaturesBody } from '../src/transport/http/decode-request.js';
import { renderOnlineFeaturesJson } from '../src/transport/http/render-json.js';
import { repoDefinition } from './workloads.js';

const rowsList = (process.argv[2] ?? '1,10,100').split(',').map(Number);
const service = process.argv[3] ?? 'fs50';
const seconds = Number(process.argv[4] ?? 3);

const project = 'serve_cpu';
const index = buildRegistryIndex(decodeRegistry(encodeRegistry(repoDefinition(project)), 'memory'), project);
const NOW = 1_763_000_000;
const ts = encodeTimestamp(NOW - 60, 0);

/** Every cell present: a timestamp in each view's slot, an INT64 elsewhere (the reply is built once per shape). */
class MemoryStore implements OnlineReader {
  readonly kind = 'memory';
  readonly keySuffix = Buffer.from(project);
  readonly #replies = new Map<string, ReadCells>();
  prepare(layout: GroupLayout): GroupLayout {
    return layout;
  }
  async read(batches: readonly ReadBatch[]): Promise<ReadCells> {
    const id = batches.map((b) => `${b.keys.length}x${b.layout.width}`).join(',');
    let r = this.#replies.get(id);
    if (r === undefined) {
      const parts: Buffer[] = [];
      const base: number[] = [];
      let total = 0;
      for (const b of batches) {
        base.push(total);
        total += b.keys.length * b.layout.width;
      }
      const start = new Int32Array(total);
      const length = new Int32Array(total);
      let i = 0;
      let pos = 0;
      for (const b of batches) {
        const tsSlots = new Set(b.layout.views.map((v) => v.tsSlot));
        for (let k = 0; k < b.keys.length; k++) {
          for (let s = 0; s < b.layout.width; s++, i++) {
            const cell = tsSlots.has(s) ? ts : encodeValue(ValueType.INT64, 1000 * k + s);
            parts.push(cell);
            start[i] = pos;
            length[i] = cell.length;
            pos += cell.length;
          }
        }
      }
      r = { data: Buffer.concat(parts), start, length, base };
      this.#replies.set(id, r);
    }
    return r;
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

const registry = { current: () => index } as unknown as RegistryCache;
const core = new OnlineFeatureService(registry, new MemoryStore(), {
  entityKeySerializationVersion: 3,
  maxEntityRows: 10_000,
  ttlPolicy: 'flag',
  now: () => NOW * 1000,
});

async function measure(rows: number, render: 'json' | 'grpc'): Promise<void> {
  const body = Buffer.from(JSON.stringify({ feature_service: service, entities: { driver_id: Array.from({ length: rows }, (_, i) => i + 1) } }));
  const once = async () => {
    const result = await core.get(decodeOnlineFeaturesBody(body));
    // As the transports do: the result's pooled memory goes back once it is rendered.
    const size = render === 'json' ? renderOnlineFeaturesJson(result).length : encodeOnlineFeaturesResponse(result).length;
    releaseResult(result);
    return size;
  };
  for (let i = 0; i < 200; i++) await once(); // warm-up (JIT)
  let n = 0;
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 50; i++) bytes += await once();
    n += 50;
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${`${rows}x${service}`.padEnd(10)} ${render.padEnd(4)} ${((cpu.user + cpu.system) / n).toFixed(2).padStart(9)} µs CPU/request  (${n} requests, ${Math.round(bytes / n)} bytes each)`,
  );
}

for (const rows of rowsList) {
  await measure(rows, 'json');
  await measure(rows, 'grpc');
}
