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

export interface OnlineReader {
  readonly kind: string;
  /** Bytes appended to every serialized entity key (Redis: the project name; Feast's `_redis_key`). */
  readonly keySuffix: Uint8Array;
  /** Precompute what reading a layout needs (e.g. Redis hash field names). Called once per plan. */
  prepare(layout: GroupLayout): unknown;
  /** Read every batch in one round trip where the store allows. Result: [batch][key] -> Row. */
  read(batches: readonly ReadBatch[]): Promise<Row[][]>;
  /** Cheap liveness check for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
