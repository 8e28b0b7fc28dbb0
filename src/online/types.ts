/**
 * The online-store seam. A plan groups requested views by entity key; the store reads, for every
 * distinct entity key of a group, one "row" of cells laid out as the group's `slots` say (a
 * feature's serialized `feast.types.Value`, or a view's serialized `google.protobuf.Timestamp`).
 * That is exactly Redis's HMGET reply shape, and other stores fill the same shape.
 */
import type { FeatureViewDef } from '../registry/model.js';

export interface ViewSlots {
  readonly view: FeatureViewDef;
  readonly features: readonly string[];
  /** Cell index of each entry of `features`. */
  readonly featureSlots: readonly number[];
  /** Cell index of the view's event timestamp. */
  readonly tsSlot: number;
}

export interface GroupLayout {
  readonly views: readonly ViewSlots[];
  /** Cells per entity key. */
  readonly width: number;
  /**
   * Fields the store keeps per entity key for this group's join keys: every online view of the
   * project with the same join keys, its features plus its timestamp (Feast's Redis layout keeps
   * them in one hash). Lets a store read the whole record when most of it is wanted.
   */
  readonly storedFields: number;
}

export interface ReadBatch {
  readonly layout: GroupLayout;
  /** Store-specific data precomputed for the layout (OnlineReader.prepare). */
  readonly prepared: unknown;
  /** Serialized entity keys, each already followed by the reader's `keySuffix`. */
  readonly keys: readonly Buffer[];
}

/** One cell per slot; null when the store has nothing there. */
export type Row = ReadonlyArray<Buffer | null>;

/**
 * Every cell of one read, as offsets into one buffer (no Buffer per cell): batch b, key k, slot s
 * is cell `base[b] + k * width + s`; its bytes are `data[start[i], start[i] + length[i])`, and
 * `length[i]` is -1 when the store has nothing there.
 */
export interface ReadCells {
  readonly data: Buffer;
  readonly start: Int32Array;
  readonly length: Int32Array;
  /** Per batch: the index of its first cell. */
  readonly base: readonly number[];
  /**
   * Pooled memory behind `start` and `length` (buffer-pool.ts `scratch`), when they live in it: the
   * caller gives it back once it has read them.
   */
  readonly memory?: ArrayBuffer;
  /** Pooled memory behind `data`, when it lives in it: given back once the cells built on it are used. */
  readonly dataMemory?: ArrayBuffer | undefined;
}

export interface OnlineReader {
  readonly kind: string;
  /** Bytes appended to every serialized entity key (Redis: the project name; Feast's `_redis_key`). */
  readonly keySuffix: Uint8Array;
  /** Precompute what reading a layout needs (e.g. Redis hash field names). Called once per plan. */
  prepare(layout: GroupLayout): unknown;
  /** Read every batch in one round trip where the store allows. */
  read(batches: readonly ReadBatch[]): Promise<ReadCells>;
  /** Cheap liveness check for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Cells from rows of Buffers (stores whose driver hands out one Buffer per value). */
export function cellsFromRows(batches: readonly ReadBatch[], rows: readonly (readonly Row[])[]): ReadCells {
  let total = 0;
  let bytes = 0;
  const base: number[] = [];
  for (let b = 0; b < batches.length; b++) {
    base.push(total);
    total += batches[b]!.keys.length * batches[b]!.layout.width;
    for (const row of rows[b]!) for (const c of row) if (c) bytes += c.length;
  }
  const data = Buffer.allocUnsafe(bytes);
  const start = new Int32Array(total);
  const length = new Int32Array(total).fill(-1);
  let pos = 0;
  for (let b = 0; b < batches.length; b++) {
    const width = batches[b]!.layout.width;
    rows[b]!.forEach((row, k) => {
      const at = base[b]! + k * width;
      for (let s = 0; s < width; s++) {
        const c = row[s];
        if (!c) continue;
        start[at + s] = pos;
        length[at + s] = c.length;
        pos += c.copy(data, pos);
      }
    });
  }
  return { data, start, length, base };
}

/** The cells of a read as rows of Buffers again ([batch][key][slot]); for checks and dumps, not the hot path. */
export function rowsFromCells(batches: readonly ReadBatch[], cells: ReadCells): (Buffer | null)[][][] {
  return batches.map((b, bi) =>
    b.keys.map((_, k) => {
      const row: (Buffer | null)[] = [];
      for (let s = 0; s < b.layout.width; s++) {
        const i = cells.base[bi]! + k * b.layout.width + s;
        const len = cells.length[i]!;
        row.push(len < 0 ? null : cells.data.subarray(cells.start[i]!, cells.start[i]! + len));
      }
      return row;
    }),
  );
}
