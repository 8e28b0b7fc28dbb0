/**
 * Reads Feast's Redis layout (sdk/python/feast/infra/online_stores/redis.py, helpers.py):
 * key = serialized entity key ++ project; one hash per key shared by every view with the same
 * join keys; field = murmur3 of "view:feature" (4 bytes LE) and `_ts:<view>`. One HMGET per
 * distinct entity key covers every requested view of a group.
 *
 * How the reads travel (`platter.redis_read`):
 * - `auto` (default): through the fast lane (lane.ts), a second connection to the server ioredis
 *   is connected to, carrying prebuilt command bytes whose replies are parsed into offsets. Per
 *   entity key one HMGET of the requested fields, or one HGETALL when the request wants at least
 *   half of the fields the hash holds: in a listpack-encoded hash (Redis's default up to 512
 *   fields) every HMGET field is a scan of the hash, so reading most of a wide hash field by
 *   field costs Redis ~10x a single HGETALL walk (bench/results/2026-11-22T03-15-38Z-6f39bc1.json:
 *   100x250 50 ms vs 4.9 ms of Redis CPU). Until the lane is up, reads go as with `script`.
 * - `script`: through ioredis, several keys as ONE read-only Lua call returning per-key replies
 *   (ioredis costs ~14-34 us of client CPU per command, so 100 HMGETs cost the client more than
 *   Redis spends answering them); one key as a plain HMGET. Falls back to `pipeline` where
 *   scripting is refused (some managed Redis).
 * - `pipeline`: through ioredis, one pipelined HMGET per key.
 * On a cluster, `auto` sends each key's command on the lane of the node serving its slot
 * (cluster-lanes.ts), one write per node; otherwise (and while slots move) every key is its own
 * HMGET through ioredis.
 */
import { createHash } from 'node:crypto';
import { Cluster } from 'ioredis';
import { PlatterError } from '../../errors.js';
import { redisHashField, redisTimestampField } from '../../encoding/redis-layout.js';
import { cellsFromRows, type GroupLayout, type OnlineReader, type ReadBatch, type ReadCells, type Row } from '../types.js';
import type { RedisClient } from './connect.js';
import type { ClusterLanes } from './cluster-lanes.js';
import type { RespLane } from './lane.js';
import { KeyedCommand, RespReplyError, type RespReplies } from './resp.js';
import { scratch } from '../buffer-pool.js';

/**
 * KEYS: every key of every group, group after group. ARGV: number of groups G, then the key count
 * of each group, then per group its field count and fields. Returns, for each key in order, one
 * cell per field of its group (nil when absent: Lua `false` becomes a nil bulk reply).
 */
const HMGET_MANY = `local g = tonumber(ARGV[1])
local out, ki, a = {}, 1, g + 2
for gi = 1, g do
  local nk, nf = tonumber(ARGV[1 + gi]), tonumber(ARGV[a])
  local f0, f1 = a + 1, a + nf
  for _ = 1, nk do
    out[ki] = redis.call('HMGET', KEYS[ki], unpack(ARGV, f0, f1))
    ki = ki + 1
  end
  a = f1 + 1
end
return out`;
/**
 * Largest read (keys x fields) sent as one script. A script runs atomically, so a wide one holds
 * Redis for its whole duration and costs Redis ~2-3x the CPU of plain HMGETs; past this size the
 * client-side saving no longer pays for it (bench/results/2026-11-22T03-18-31Z-6f39bc1.json:
 * 100x250 through the script collapsed into timeouts on 275-field listpack hashes, and matched
 * the pipeline on hashtable ones). 100 keys x 50 features plus timestamps stays under it.
 */
const MAX_SCRIPT_CELLS = 8192;

function cellCount(batches: readonly ReadBatch[]): number {
  let n = 0;
  for (const b of batches) n += b.keys.length * b.layout.width;
  return n;
}

/** What reading one layout needs, computed once per plan. */
interface PreparedRead {
  /** HMGET fields in slot order. */
  readonly fields: Buffer[];
  /** `HMGET <key> fields...` or `HGETALL <key>` for the lane. */
  readonly command: KeyedCommand;
  readonly wholeHash: boolean;
  /** HGETALL replies: 4-byte feature fields (as int32 LE) -> slot. */
  readonly featureSlot: FieldTable;
  /** HGETALL replies: `_ts:<view>` fields, by their FNV-1a hash -> slot (then compared byte for byte). */
  readonly tsSlot: FieldTable;
  /** The `_ts:<view>` field of each timestamp slot. */
  readonly tsField: (Buffer | undefined)[];
}

export type RedisReadMode = 'auto' | 'script' | 'pipeline';

/**
 * int32 -> slot, open addressing in typed arrays. Feature fields are murmur3 hashes, mostly
 * outside V8's small-integer range, so a Map keyed by them boxes every lookup; an HGETALL of
 * 100 wide hashes looks up ~25,000 fields.
 */
export class FieldTable {
  readonly size: number;
  readonly #keys: Int32Array;
  readonly #slots: Int32Array;
  readonly #mask: number;

  constructor(entries: readonly (readonly [number, number])[]) {
    let cap = 8;
    while (cap < entries.length * 4) cap *= 2;
    this.#keys = new Int32Array(cap);
    this.#slots = new Int32Array(cap).fill(-1);
    this.#mask = cap - 1;
    let size = 0;
    for (const [key, slot] of entries) {
      let i = Math.imul(key, 0x9e3779b1) >>> 0 & this.#mask;
      while (this.#slots[i]! >= 0 && this.#keys[i] !== key) i = (i + 1) & this.#mask;
      if (this.#slots[i]! < 0) size++;
      this.#keys[i] = key;
      this.#slots[i] = slot;
    }
    this.size = size;
  }

  /** The slot of `key`, or -1. */
  get(key: number): number {
    const keys = this.#keys;
    const slots = this.#slots;
    let i = Math.imul(key, 0x9e3779b1) >>> 0 & this.#mask;
    for (;;) {
      const s = slots[i]!;
      if (s < 0 || keys[i] === key) return s;
      i = (i + 1) & this.#mask;
    }
  }
}

const HMGET_MANY_SHA = createHash('sha1').update(HMGET_MANY).digest('hex');

export class RedisOnlineReader implements OnlineReader {
  readonly kind = 'redis';
  readonly keySuffix: Uint8Array;
  readonly #client: RedisClient;
  readonly #isCluster: boolean;
  readonly #lane: RespLane | null;
  readonly #clusterLanes: ClusterLanes | null;
  #scripting: boolean;

  /**
   * `lane`: the fast lane, for `auto` on a standalone or sentinel server (it follows `client`);
   * `clusterLanes`: the lanes per node, for `auto` on a cluster.
   */
  constructor(
    client: RedisClient,
    project: string,
    opts: { mode?: RedisReadMode; lane?: RespLane | null; clusterLanes?: ClusterLanes | null } = {},
  ) {
    const mode = opts.mode ?? 'auto';
    this.#scripting = mode !== 'pipeline';
    this.#client = client;
    this.#isCluster = client instanceof Cluster;
    this.#lane = mode === 'auto' && !this.#isCluster ? (opts.lane ?? null) : null;
    this.#clusterLanes = mode === 'auto' && this.#isCluster ? (opts.clusterLanes ?? null) : null;
    this.keySuffix = Buffer.from(project, 'utf8');
  }

  prepare(layout: GroupLayout): PreparedRead {
    const fields: Buffer[] = new Array(layout.width);
    const featureFields: [number, number][] = [];
    const tsFields: [number, number][] = [];
    const tsField: (Buffer | undefined)[] = new Array(layout.width);
    for (const v of layout.views) {
      v.features.forEach((f, i) => {
        const field = redisHashField(v.view.name, f);
        fields[v.featureSlots[i]!] = field;
        featureFields.push([field.readInt32LE(0), v.featureSlots[i]!]);
      });
      const ts = redisTimestampField(v.view.name);
      fields[v.tsSlot] = ts;
      tsField[v.tsSlot] = ts;
      tsFields.push([fnv1a(ts, 0, ts.length), v.tsSlot]);
    }
    const featureSlot = new FieldTable(featureFields);
    const tsSlot = new FieldTable(tsFields);
    // Every wanted field must have its own entry (a murmur3 or FNV collision would hide one): else HMGET.
    const wholeHash = layout.width * 2 >= layout.storedFields && featureSlot.size + tsSlot.size === layout.width;
    const command = wholeHash ? new KeyedCommand('HGETALL', []) : new KeyedCommand('HMGET', fields);
    return { fields, command, wholeHash, featureSlot, tsSlot, tsField };
  }

  async read(batches: readonly ReadBatch[]): Promise<ReadCells> {
    try {
      if (this.#isCluster) {
        const viaLanes = this.#clusterLanes !== null ? await this.#readClusterLanes(this.#clusterLanes, batches) : null;
        return viaLanes ?? cellsFromRows(batches, await this.#readCluster(batches));
      }
      if (this.#lane?.ready) return await this.#readLane(this.#lane, batches);
      let keys = 0;
      for (const b of batches) keys += b.keys.length;
      if (keys > 1 && this.#scripting && cellCount(batches) <= MAX_SCRIPT_CELLS) {
        try {
          return cellsFromRows(batches, await this.#readScripted(batches, keys));
        } catch (err) {
          if (!/unknown command|NOSCRIPT|not allowed|disabled/i.test((err as Error).message)) throw err;
          if (/NOSCRIPT/.test((err as Error).message)) return cellsFromRows(batches, await this.#readScripted(batches, keys, true));
          this.#scripting = false; // scripting is off on this server: pipeline from now on
        }
      }
      if (keys === 1) {
        // One key: a plain HMGET, no pipeline object.
        const b = batches.find((x) => x.keys.length === 1)!;
        const row = (await this.#client.hmgetBuffer(b.keys[0]!, ...(b.prepared as PreparedRead).fields)) as Row;
        return cellsFromRows(batches, batches.map((x) => (x === b ? [row] : [])));
      }
      return cellsFromRows(batches, await this.#readPipelined(batches));
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Every key's command in one buffer, one write; the replies' elements are the cells. */
  async #readLane(lane: RespLane, batches: readonly ReadBatch[]): Promise<ReadCells> {
    let size = 0;
    let replies = 0;
    let cells = 0;
    let elements = 0;
    let whole = false;
    const base: number[] = new Array(batches.length);
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b]!;
      const prep = batch.prepared as PreparedRead;
      base[b] = cells;
      cells += batch.keys.length * batch.layout.width;
      replies += batch.keys.length;
      if (prep.wholeHash) whole = true;
      // HGETALL answers every stored field with its name.
      elements += batch.keys.length * (prep.wholeHash ? 2 * batch.layout.storedFields : batch.layout.width);
      for (const k of batch.keys) size += prep.command.size(k.length);
    }
    const out = Buffer.allocUnsafe(size);
    let pos = 0;
    for (const batch of batches) {
      const cmd = (batch.prepared as PreparedRead).command;
      for (const k of batch.keys) pos = cmd.write(out, pos, k);
    }
    const r = await lane.send(out, replies, elements);
    if (!whole) {
      if (r.count !== cells) throw new Error(`Redis answered ${r.count} of ${cells} fields`);
      return { data: r.data, start: r.start, length: r.length, base, memory: r.memory, dataMemory: r.dataMemory };
    }
    const placed = this.#placeWholeHashes(batches, r, base, cells);
    scratch.give(r.memory);
    return placed;
  }

  /** A read with HGETALL in it: every reply's elements placed in its key's cells (placeReply). */
  #placeWholeHashes(batches: readonly ReadBatch[], r: RespReplies, base: number[], cells: number): ReadCells {
    // `start` of a cell is read only where its `length` is set, so only `length` is cleared.
    const memory = scratch.take(cells * 8);
    const start = new Int32Array(memory, 0, cells);
    const length = new Int32Array(memory, cells * 4, cells).fill(-1);
    let e = 0;
    let reply = 0;
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b]!;
      const prep = batch.prepared as PreparedRead;
      const width = batch.layout.width;
      for (let k = 0; k < batch.keys.length; k++, reply++) {
        e = placeReply(prep, width, r, e, r.replyElements[reply]!, start, length, base[b]! + k * width, 0);
      }
    }
    return { data: r.data, start, length, base, memory, dataMemory: r.dataMemory };
  }

  /**
   * Cluster: routes every key to its node's lane; null when a lane is down or a node redirected a
   * key (MOVED/ASK while slots move, TRYAGAIN, CLUSTERDOWN), and the read goes through ioredis,
   * which follows redirections and refreshes its slot map (the lanes follow that refresh).
   */
  async #readClusterLanes(lanes: ClusterLanes, batches: readonly ReadBatch[]): Promise<ReadCells | null> {
    const route: RespLane[] = [];
    let mixed = false;
    for (const b of batches) {
      for (const k of b.keys) {
        const lane = lanes.route(k);
        if (lane === null) return null;
        if (route.length > 0 && lane !== route[0]) mixed = true;
        route.push(lane);
      }
    }
    if (route.length === 0) return null;
    try {
      return mixed ? await this.#readAcrossLanes(batches, route) : await this.#readLane(route[0]!, batches);
    } catch (err) {
      if (!(err instanceof RespReplyError) || !CLUSTER_REDIRECT.test(err.message)) throw err;
      lanes.refresh();
      return null;
    }
  }

  /** Keys on several nodes: one write per node, replies copied into one buffer and placed per key. */
  async #readAcrossLanes(batches: readonly ReadBatch[], route: readonly RespLane[]): Promise<ReadCells> {
    const parts: { lane: RespLane; keys: number[]; size: number; elements: number }[] = [];
    const keyBatch = new Int32Array(route.length);
    const keyIndex = new Int32Array(route.length);
    const base: number[] = new Array(batches.length);
    let cells = 0;
    let i = 0;
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b]!;
      const prep = batch.prepared as PreparedRead;
      base[b] = cells;
      cells += batch.keys.length * batch.layout.width;
      const elements = prep.wholeHash ? 2 * batch.layout.storedFields : batch.layout.width;
      for (let k = 0; k < batch.keys.length; k++, i++) {
        const lane = route[i]!;
        let part = parts.find((p) => p.lane === lane);
        if (part === undefined) parts.push((part = { lane, keys: [], size: 0, elements: 0 }));
        part.keys.push(i);
        part.size += prep.command.size(batch.keys[k]!.length);
        part.elements += elements;
        keyBatch[i] = b;
        keyIndex[i] = k;
      }
    }
    const replies = await Promise.all(
      parts.map((p) => {
        const out = Buffer.allocUnsafe(p.size);
        let pos = 0;
        for (const key of p.keys) {
          const batch = batches[keyBatch[key]!]!;
          pos = (batch.prepared as PreparedRead).command.write(out, pos, batch.keys[keyIndex[key]!]!);
        }
        return p.lane.send(out, p.keys.length, p.elements);
      }),
    );
    let total = 0;
    for (const r of replies) total += r.data.length;
    const data = Buffer.allocUnsafe(total);
    const start = new Int32Array(cells);
    const length = new Int32Array(cells).fill(-1);
    let shift = 0;
    for (let p = 0; p < parts.length; p++) {
      const r = replies[p]!;
      r.data.copy(data, shift);
      const keys = parts[p]!.keys;
      let e = 0;
      for (let j = 0; j < keys.length; j++) {
        const batch = batches[keyBatch[keys[j]!]!]!;
        const width = batch.layout.width;
        const at = base[keyBatch[keys[j]!]!]! + keyIndex[keys[j]!]! * width;
        e = placeReply(batch.prepared as PreparedRead, width, r, e, r.replyElements[j]!, start, length, at, shift);
      }
      shift += r.data.length;
      // Copied into `data`: nothing reads this node's reply any more.
      scratch.give(r.memory);
      if (r.dataMemory !== undefined) scratch.give(r.dataMemory);
    }
    return { data, start, length, base };
  }

  async #readScripted(batches: readonly ReadBatch[], keyCount: number, sendSource = false): Promise<Row[][]> {
    const args: (Buffer | string | number)[] = [sendSource ? HMGET_MANY : HMGET_MANY_SHA, keyCount];
    for (const b of batches) for (const k of b.keys) args.push(k);
    args.push(batches.length);
    for (const b of batches) args.push(b.keys.length);
    for (const b of batches) {
      const fields = (b.prepared as PreparedRead).fields;
      args.push(fields.length);
      for (const f of fields) args.push(f);
    }
    const perKey = (sendSource
      ? await this.#client.callBuffer('EVAL', ...args)
      : await this.#client.callBuffer('EVALSHA', ...args)) as Row[];
    const out: Row[][] = [];
    let o = 0;
    for (const b of batches) {
      out.push(perKey.slice(o, o + b.keys.length));
      o += b.keys.length;
    }
    return out;
  }

  async #readPipelined(batches: readonly ReadBatch[]): Promise<Row[][]> {
    const pipe = this.#client.pipeline();
    for (const b of batches) {
      const fields = (b.prepared as PreparedRead).fields;
      for (const key of b.keys) pipe.hmgetBuffer(key, ...fields);
    }
    const replies = await pipe.exec();
    if (replies === null) throw new Error('pipeline aborted');
    const out: Row[][] = [];
    let i = 0;
    for (const b of batches) {
      const rows: Row[] = new Array(b.keys.length);
      for (let k = 0; k < b.keys.length; k++) {
        const [err, reply] = replies[i++]!;
        if (err) throw err;
        rows[k] = reply as Row;
      }
      out.push(rows);
    }
    return out;
  }

  /** Through ioredis: cluster keys hash to different slots, so each HMGET is its own command. */
  async #readCluster(batches: readonly ReadBatch[]): Promise<Row[][]> {
    return Promise.all(
      batches.map((b) => {
        const fields = (b.prepared as PreparedRead).fields;
        return Promise.all(b.keys.map((key) => this.#client.hmgetBuffer(key, ...fields) as Promise<Row>));
      }),
    );
  }

  async ping(): Promise<void> {
    try {
      await this.#client.ping();
    } catch (err) {
      throw storeError(err);
    }
  }

  async close(): Promise<void> {
    this.#lane?.close();
    this.#clusterLanes?.close();
    this.#client.disconnect();
  }
}

/** Cluster replies that mean "ask another node" (or "not now"); ioredis knows how to follow them. */
const CLUSTER_REDIRECT = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * Places one key's reply (`n` elements from element `e` of `r`) in the cells at `at`: HMGET
 * elements are the cells in slot order; HGETALL elements are (field, value) pairs in the hash's
 * order, each wanted field put in its slot. `shift` moves offsets into a merged buffer. Returns
 * the element after the reply.
 */
function placeReply(
  prep: PreparedRead,
  width: number,
  r: RespReplies,
  e: number,
  n: number,
  start: Int32Array,
  length: Int32Array,
  at: number,
  shift: number,
): number {
  if (!prep.wholeHash) {
    if (n !== width) throw new Error(`Redis answered ${n} of ${width} fields`);
    for (let s = 0; s < n; s++, e++) {
      start[at + s] = r.start[e]! + shift;
      length[at + s] = r.length[e]!;
    }
    return e;
  }
  // ~27,500 pairs for 100 entities of a 25-view service: no string or Buffer per field.
  const data = r.data;
  const rs = r.start;
  const rl = r.length;
  const features = prep.featureSlot;
  for (const end = e + n; e < end; e += 2) {
    const fs = rs[e]!;
    const fl = rl[e]!;
    let slot: number;
    if (fl === 4) {
      slot = features.get(data[fs]! | (data[fs + 1]! << 8) | (data[fs + 2]! << 16) | (data[fs + 3]! << 24));
    } else {
      slot = fl > 0 ? prep.tsSlot.get(fnv1a(data, fs, fs + fl)) : -1;
      if (slot >= 0 && !sameBytes(prep.tsField[slot]!, data, fs, fl)) slot = -1;
    }
    if (slot < 0) continue;
    start[at + slot] = rs[e + 1]! + shift;
    length[at + slot] = rl[e + 1]!;
  }
  return e;
}

/** 32-bit FNV-1a of bytes [from, to). */
function fnv1a(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h | 0;
}

function sameBytes(want: Uint8Array, data: Uint8Array, at: number, length: number): boolean {
  if (want.length !== length) return false;
  for (let i = 0; i < length; i++) if (want[i] !== data[at + i]) return false;
  return true;
}

function storeError(err: unknown): PlatterError {
  if (err instanceof PlatterError) return err;
  const msg = (err as Error)?.message ?? String(err);
  if (/timed? ?out/i.test(msg)) {
    return new PlatterError('ONLINE_STORE_TIMEOUT', `Redis did not answer in time: ${msg}`, { cause: err });
  }
  return new PlatterError('ONLINE_STORE_UNAVAILABLE', `Redis read failed: ${msg}; check online_store.connection_string`, {
    cause: err,
  });
}
