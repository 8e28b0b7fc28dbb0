/**
 * The Redis reader's CPU per request with no sockets: `RedisOnlineReader.read` on the fast-lane
 * path builds the command bytes, the replies go through the real RESP parser in 64 KiB chunks
 * (copied out of a reused read buffer, as the lane's plain-TCP reads are), and the cells are
 * placed (HMGET order, or HGETALL pairs by field name). Only the socket is missing: a stand-in
 * lane answers from a prebuilt reply, one Feast hash of the bench's repo (25 views x 10 INT64 +
 * 25 `_ts` fields, in the writer's field order) per key. `npm run bench` measures the same reads
 * with Redis (the `redis-ceiling` row); this isolates the JavaScript, for quick before/after.
 *
 *   node --import tsx bench/reader-cpu.ts [WORKLOADS=1x50,100x50,1x250,100x250] [SECONDS=3]
 */
import { encodeTimestamp } from '../src/encoding/timestamp.js';
import { encodeValue } from '../src/encoding/value-encode.js';
import { ValueType } from '../src/encoding/value-type.js';
import { redisHashField, redisTimestampField } from '../src/encoding/redis-layout.js';
import type { RedisClient } from '../src/online/redis/connect.js';
import type { RespLane } from '../src/online/redis/lane.js';
import { releaseCells } from '../src/online/buffer-pool.js';
import { RedisOnlineReader } from '../src/online/redis/reader.js';
import { PendingReplies, RespReplyParser, encodeArgs, type RespReplies } from '../src/online/redis/resp.js';
import { encodeRegistry } from '../src/registry/definition.js';
import { buildRegistryIndex } from '../src/registry/registry-index.js';
import { decodeRegistry } from '../src/registry/sources/decode.js';
import { planReads } from './redis-ceiling.js';
import { VIEWS, requestPool, repoDefinition, workloadByName } from './workloads.js';

const names = (process.argv[2] ?? '1x50,100x50,1x250,100x250').split(',');
const seconds = Number(process.argv[3] ?? 3);
const CHUNK = 64 * 1024;

const project = 'reader_cpu';
const index = buildRegistryIndex(decodeRegistry(encodeRegistry(repoDefinition(project)), 'memory'), project);

/** One entity's hash as the writer lays it out: per view `_ts:<view>` then its features. */
const HASH = new Map<string, Buffer>();
for (const [view, features] of Object.entries(VIEWS)) {
  HASH.set(redisTimestampField(view).toString('latin1'), encodeTimestamp(1_763_000_000, 0));
  features.forEach((f, i) => HASH.set(redisHashField(view, f.name).toString('latin1'), encodeValue(ValueType.INT64, 1000 + i)));
}

/** Splits a pipeline of commands (arrays of bulk strings) into their arguments. */
function parseCommands(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  let i = 0;
  const line = () => {
    const end = bytes.indexOf(13, i);
    const v = Number(bytes.toString('latin1', i + 1, end));
    i = end + 2;
    return v;
  };
  while (i < bytes.length) {
    const argc = line();
    const args: Buffer[] = [];
    for (let a = 0; a < argc; a++) {
      const n = line();
      args.push(bytes.subarray(i, i + n));
      i += n + 2;
    }
    out.push(args);
  }
  return out;
}

/** What Redis would answer to `args` for a key holding HASH. */
function answer(args: Buffer[]): Buffer {
  const cmd = args[0]!.toString('latin1').toUpperCase();
  if (cmd === 'HGETALL') {
    const flat: Buffer[] = [];
    for (const [f, v] of HASH) flat.push(Buffer.from(f, 'latin1'), v);
    return Buffer.concat([Buffer.from(`*${flat.length}\r\n`), encodeArgs(flat)]);
  }
  if (cmd !== 'HMGET') throw new Error(`unexpected command ${cmd}`);
  const fields = args.slice(2);
  const parts: Buffer[] = [Buffer.from(`*${fields.length}\r\n`)];
  for (const f of fields) {
    const v = HASH.get(f.toString('latin1'));
    parts.push(v === undefined ? Buffer.from('$-1\r\n') : encodeArgs([v]));
  }
  return Buffer.concat(parts);
}

/**
 * A lane without a socket: the reply to a request shape is built once (keys do not change what a
 * hash holds here), then each send feeds it through the parser chunk by chunk.
 */
class StandInLane {
  readonly ready = true;
  readonly #replies = new Map<number, Buffer>();
  readonly #readBuffer = Buffer.allocUnsafe(CHUNK);
  /** One parser for the lane's life, as the lane has one per connection. */
  readonly #parser = new RespReplyParser({ copyChunks: true });

  send(commands: Buffer, replies: number, elementsHint: number): Promise<RespReplies> {
    let reply = this.#replies.get(commands.length);
    if (reply === undefined) {
      reply = Buffer.concat(parseCommands(commands).map(answer));
      this.#replies.set(commands.length, reply);
    }
    const pending = new PendingReplies(replies, elementsHint);
    let result: RespReplies | null = null;
    for (let at = 0; at < reply.length; at += CHUNK) {
      // As the lane's socket reads: bytes land in one reused buffer, the parser copies what it keeps.
      const n = reply.copy(this.#readBuffer, 0, at, Math.min(at + CHUNK, reply.length));
      this.#parser.feed(
        this.#readBuffer.subarray(0, n),
        () => (result === null ? pending : undefined),
        (p, data) => (result = { data, start: p.start, length: p.length, count: p.count, replyElements: p.replyElements, memory: p.memory, dataMemory: p.copyBuf?.buffer as ArrayBuffer | undefined }),
      );
    }
    if (result === null) throw new Error('stand-in reply incomplete');
    return Promise.resolve(result);
  }
}

const lane = new StandInLane();
const reader = new RedisOnlineReader({} as RedisClient, project, { lane: lane as unknown as RespLane });

for (const name of names) {
  const w = workloadByName(name);
  const { batchesFor } = planReads(index, reader, 3, w);
  const pool = requestPool(w, 200, 10_000, 42).map(batchesFor);
  const once = async (i: number) => {
    const cells = await reader.read(pool[i % pool.length]!);
    const bytes = cells.data.length;
    releaseCells(cells); // as the server does once a response is written
    return bytes;
  };
  for (let i = 0; i < 300; i++) await once(i); // warm-up (JIT)
  let n = 0;
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 20; i++) bytes += await once(n + i);
    n += 20;
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${name.padEnd(8)} ${((cpu.user + cpu.system) / n).toFixed(1).padStart(9)} µs CPU/request  (${n} requests, ${Math.round(bytes / n).toLocaleString('en-US')} reply bytes each)`,
  );
}
