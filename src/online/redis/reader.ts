/**
 * Reads Feast's Redis layout (sdk/python/feast/infra/online_stores/redis.py, helpers.py):
 * key = serialized entity key ++ project; one hash per key shared by every view with the same
 * join keys; field = murmur3 of "view:feature" (4 bytes LE) and `_ts:<view>`. One HMGET per
 * distinct entity key covers every requested view of a group.
 *
 * How the HMGETs travel: a request with several keys sends them as ONE read-only Lua script call
 * that runs every HMGET inside Redis and returns one flat reply. ioredis's cost is per command
 * and per argument (bench/results: ~34 us of client CPU per pipelined HMGET), so 100 HMGETs in a
 * pipeline cost the client more than Redis spends answering them; one script call with 100 keys
 * costs a fraction of that. Single-key requests use a plain HMGET (cheaper than a script call).
 * Where scripting is unavailable (some managed Redis) or on a cluster (keys live in different
 * slots) the reader pipelines plain HMGETs instead.
 */
import { createHash } from 'node:crypto';
import { Cluster } from 'ioredis';
import { PlatterError } from '../../errors.js';
import { redisHashField, redisTimestampField } from '../../encoding/redis-layout.js';
import type { GroupLayout, OnlineReader, ReadBatch, Row } from '../types.js';
import type { RedisClient } from './connect.js';

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
  for (const b of batches) n += b.keys.length * (b.prepared as Buffer[]).length;
  return n;
}

const HMGET_MANY_SHA = createHash('sha1').update(HMGET_MANY).digest('hex');

export class RedisOnlineReader implements OnlineReader {
  readonly kind = 'redis';
  readonly keySuffix: Uint8Array;
  readonly #client: RedisClient;
  readonly #isCluster: boolean;
  #scripting: boolean;

  constructor(client: RedisClient, project: string, opts: { scripting?: boolean } = {}) {
    this.#scripting = opts.scripting ?? true;
    this.#client = client;
    this.#isCluster = client instanceof Cluster;
    this.keySuffix = Buffer.from(project, 'utf8');
  }

  /** The HMGET field list of a layout, in slot order; computed once per plan. */
  prepare(layout: GroupLayout): Buffer[] {
    const fields: Buffer[] = new Array(layout.width);
    for (const v of layout.views) {
      v.features.forEach((f, i) => {
        fields[v.featureSlots[i]!] = redisHashField(v.view.name, f);
      });
      fields[v.tsSlot] = redisTimestampField(v.view.name);
    }
    return fields;
  }

  async read(batches: readonly ReadBatch[]): Promise<Row[][]> {
    try {
      if (this.#isCluster) return await this.#readCluster(batches);
      let keys = 0;
      for (const b of batches) keys += b.keys.length;
      if (keys > 1 && this.#scripting && cellCount(batches) <= MAX_SCRIPT_CELLS) {
        try {
          return await this.#readScripted(batches, keys);
        } catch (err) {
          if (!/unknown command|NOSCRIPT|not allowed|disabled/i.test((err as Error).message)) throw err;
          if (/NOSCRIPT/.test((err as Error).message)) return await this.#readScripted(batches, keys, true);
          this.#scripting = false; // scripting is off on this server: pipeline from now on
        }
      }
      if (keys === 1) {
        // One key: a plain HMGET, no pipeline object.
        const b = batches.find((x) => x.keys.length === 1)!;
        const row = (await this.#client.hmgetBuffer(b.keys[0]!, ...(b.prepared as Buffer[]))) as Row;
        return batches.map((x) => (x === b ? [row] : []));
      }
      return await this.#readPipelined(batches);
    } catch (err) {
      throw storeError(err);
    }
  }

  async #readScripted(batches: readonly ReadBatch[], keyCount: number, sendSource = false): Promise<Row[][]> {
    const args: (Buffer | string | number)[] = [sendSource ? HMGET_MANY : HMGET_MANY_SHA, keyCount];
    for (const b of batches) for (const k of b.keys) args.push(k);
    args.push(batches.length);
    for (const b of batches) args.push(b.keys.length);
    for (const b of batches) {
      const fields = b.prepared as Buffer[];
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
    {
      const pipe = this.#client.pipeline();
      for (const b of batches) {
        const fields = b.prepared as Buffer[];
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
  }

  /** Cluster keys hash to different slots, so each HMGET is its own command (auto-pipelined per node). */
  async #readCluster(batches: readonly ReadBatch[]): Promise<Row[][]> {
    return Promise.all(
      batches.map((b) => {
        const fields = b.prepared as Buffer[];
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
    this.#client.disconnect();
  }
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
