/**
 * Reads Feast's Redis layout (sdk/python/feast/infra/online_stores/redis.py, helpers.py):
 * key = serialized entity key ++ project; one hash per key shared by every view with the same
 * join keys; field = murmur3 of "view:feature" (4 bytes LE) and `_ts:<view>`. One HMGET per
 * distinct entity key covers every requested view of a group, and all of a request's HMGETs go
 * out in one pipeline.
 */
import { Cluster } from 'ioredis';
import { PlatterError } from '../../errors.js';
import { redisHashField, redisTimestampField } from '../../encoding/redis-layout.js';
import type { GroupLayout, OnlineReader, ReadBatch, Row } from '../types.js';
import type { RedisClient } from './connect.js';

export class RedisOnlineReader implements OnlineReader {
  readonly kind = 'redis';
  readonly keySuffix: Uint8Array;
  readonly #client: RedisClient;
  readonly #isCluster: boolean;

  constructor(client: RedisClient, project: string) {
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
    } catch (err) {
      throw storeError(err);
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
