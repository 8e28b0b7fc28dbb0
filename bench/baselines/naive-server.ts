/**
 * The naive baseline: the feature server a team would write by hand in an afternoon, doing the
 * same lookups as `platter serve` the obvious way — node:http, `JSON.parse` of the body, one
 * `await redis.hmgetBuffer(...)` per entity row (ioredis, default options), every cell decoded with
 * protobufjs (`feast.types.Value`, `google.protobuf.Timestamp`, `toObject` with longs as numbers), the
 * response built as objects and `JSON.stringify`-ed. It answers Feast's JSON shape with the same values, statuses and event
 * timestamps, so the bench checks it like the real server before loading it.
 *
 * What it knows about the repo comes from bench/workloads.ts (`repoDefinition`), the way a
 * hand-written server would hard-code or load its feature definitions; keys and fields use the
 * product's encoders (a team would copy Feast's ~20 lines of entity-key serialization and murmur3).
 *
 *   node --import tsx bench/baselines/naive-server.ts --port 8081 --redis 127.0.0.1:6379 --project bench_1
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createEntityKeyEncoder } from '../../src/encoding/entity-key.js';
import { redisHashField, redisKey, redisTimestampField } from '../../src/encoding/redis-layout.js';
import { protoType } from '../../src/proto/root.js';
import { ENTITY, repoDefinition } from '../workloads.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    redis: { type: 'string' },
    password: { type: 'string' },
    db: { type: 'string' },
    project: { type: 'string' },
  },
  strict: true,
});
const [redisHost, redisPort] = (values.redis ?? '127.0.0.1:6379').split(':');
const project = values.project ?? 'bench';
const redis = new Redis({
  host: redisHost!,
  port: Number(redisPort ?? 6379),
  db: Number(values.db ?? 0),
  ...(values.password !== undefined ? { password: values.password } : {}),
});
const Value = protoType('feast.types.Value');
const Timestamp = protoType('google.protobuf.Timestamp');
const entityKey = createEntityKeyEncoder([ENTITY.joinKey], 3);

const def = repoDefinition(project);
const views = new Map(def.featureViews.map((v) => [v.name, v]));
const featureView = new Map<string, string>();
for (const v of def.featureViews) for (const f of v.features) featureView.set(f.name, v.name);
const services = new Map(
  (def.featureServices ?? []).map((s) => [s.name, s.projections.flatMap((p) => views.get(p.view)!.features.map((f) => `${p.view}:${f.name}`))]),
);

function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

async function getOnlineFeatures(body: any): Promise<object> {
  const refs: string[] = body.features ?? services.get(body.feature_service);
  if (!refs) throw new Error(`unknown feature service ${body.feature_service}`);
  const ids: number[] = body.entities[ENTITY.joinKey];
  const byView = new Map<string, string[]>();
  for (const ref of refs) {
    const [view, feature] = ref.split(':') as [string, string];
    if (!byView.has(view)) byView.set(view, []);
    byView.get(view)!.push(feature);
  }
  const fields: Buffer[] = [];
  const slots: { view: string; feature: string; field: number; tsField: number }[] = [];
  for (const [view, features] of byView) {
    const tsField = fields.push(redisTimestampField(view)) - 1;
    for (const feature of features) slots.push({ view, feature, field: fields.push(redisHashField(view, feature)) - 1, tsField });
  }
  const now = Date.now() / 1000;
  const columns = slots.map(() => ({ values: [] as unknown[], statuses: [] as string[], event_timestamps: [] as string[] }));
  for (const id of ids) {
    const key = redisKey(entityKey.encode([{ type: 4, value: id }]), project);
    const cells = await redis.hmgetBuffer(key, ...fields);
    slots.forEach((slot, i) => {
      const col = columns[i]!;
      const tsCell = cells[slot.tsField];
      const cell = cells[slot.field];
      if (!tsCell || !cell) {
        col.values.push(null);
        col.statuses.push('NOT_FOUND');
        col.event_timestamps.push(isoSeconds(0));
        return;
      }
      const ts = Timestamp.toObject(Timestamp.decode(tsCell), { longs: Number }) as { seconds?: number };
      const value = Value.toObject(Value.decode(cell), { longs: Number }) as Record<string, unknown>;
      const ttl = views.get(slot.view)!.ttlSeconds ?? 0;
      const fresh = ttl === 0 || (ts.seconds ?? 0) + ttl >= now;
      col.values.push(fresh ? (Object.values(value)[0] ?? null) : null);
      col.statuses.push(fresh ? 'PRESENT' : 'OUTSIDE_MAX_AGE');
      col.event_timestamps.push(isoSeconds(ts.seconds ?? 0));
    });
  }
  return {
    metadata: { feature_names: [ENTITY.joinKey, ...slots.map((s) => s.feature)] },
    results: [
      { values: ids, statuses: ids.map(() => 'PRESENT'), event_timestamps: ids.map(() => isoSeconds(0)) },
      ...columns,
    ],
  };
}

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.end('ok');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    getOnlineFeatures(JSON.parse(Buffer.concat(chunks).toString('utf8'))).then(
      (doc) => {
        const out = JSON.stringify(doc);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      },
      (err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(err.message);
      },
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  redis.disconnect();
  process.exit(0);
});
