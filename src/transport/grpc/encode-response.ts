/**
 * Writes `feast.serving.GetOnlineFeaturesResponse` bytes directly (ServingService.proto:
 * metadata=1 {feature_names=1 FeatureList{val=1}}, results=2 FeatureVector{values=1 Value,
 * statuses=2 packed enum, event_timestamps=3 Timestamp}). Feature values are the Value bytes read
 * from the store, copied without decoding. Two passes: sizes first, then one exact-size Buffer —
 * a generic protobuf writer (fork/ldelim per message) cost more than the whole read path here.
 */
import type { EntityScalar } from '../../encoding/entity-key.js';
import { sameStatusesAndTimestamps } from '../../serving/cells.js';
import { FieldStatus, type OnlineFeaturesResult } from '../../serving/types.js';

function varintSize(v: number): number {
  if (v < 0) return 10; // negative int32/int64 are sign-extended to 10 bytes
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  for (v = Math.floor(v / 0x800000000); v > 0; v = Math.floor(v / 128)) n++;
  return n;
}

function bigVarintSize(v: bigint): number {
  let u = v < 0n ? v + (1n << 64n) : v;
  let n = 1;
  while (u >= 128n) {
    u >>= 7n;
    n++;
  }
  return n;
}

class Out {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  varint(v: number): void {
    if (v < 0) {
      this.bigVarint(BigInt(v));
      return;
    }
    if (v < 0x80000000) {
      // 31-bit values (lengths, nanos, statuses, seconds until 2038): bit operations.
      while (v >= 128) {
        this.buf[this.pos++] = (v & 127) | 128;
        v >>>= 7;
      }
      this.buf[this.pos++] = v;
      return;
    }
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  bigVarint(v: bigint): void {
    let u = v < 0n ? v + (1n << 64n) : v;
    while (u >= 128n) {
      this.buf[this.pos++] = Number(u & 127n) | 128;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }
  bytes(b: Uint8Array): void {
    this.slice(b, 0, b.length);
  }
  /** `b[start, start + len)`. */
  slice(b: Uint8Array, start: number, len: number): void {
    if (len <= 32) {
      // TypedArray.set costs more than a short loop for the typical few-byte Value.
      const buf = this.buf;
      let p = this.pos;
      for (let i = start, end = start + len; i < end; i++) buf[p++] = b[i]!;
      this.pos = p;
    } else {
      this.buf.set(b.subarray(start, start + len), this.pos);
      this.pos += len;
    }
  }
  utf8(s: string, len: number): void {
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }
}

/** feast.types.Value bytes of an entity value: the oneof field number equals the ValueType. */
function entityValueBytes(v: EntityScalar): Buffer {
  switch (v.type) {
    case 1:
    case 2: {
      const payload = v.type === 1 ? Buffer.from(v.value) : Buffer.from(v.value, 'utf8');
      const o = new Out(Buffer.allocUnsafe(1 + varintSize(payload.length) + payload.length));
      o.byte((v.type << 3) | 2);
      o.varint(payload.length);
      o.bytes(payload);
      return o.buf;
    }
    default: {
      const big = typeof v.value === 'bigint' ? v.value : null;
      const num = big === null ? (v.value as number) : 0;
      const o = new Out(Buffer.allocUnsafe(1 + (big !== null ? bigVarintSize(big) : varintSize(num))));
      o.byte(v.type << 3);
      if (big !== null) o.bigVarint(big);
      else o.varint(num);
      return o.buf;
    }
  }
}

/** Size of a google.protobuf.Timestamp body (zero fields are left out, as protobuf does). */
function tsBodySize(s: number, n: number): number {
  return (s !== 0 ? 1 + varintSize(s) : 0) + (n !== 0 ? 1 + varintSize(n) : 0);
}

/**
 * A column's cells: row r is index `at + r` of the arrays; its Value bytes are
 * `data[start[i], start[i] + length[i])`, length -1 for none. Timestamps and statuses are absent
 * for entity columns (PRESENT and the epoch).
 */
interface ColumnCells {
  readonly data: Uint8Array;
  readonly start: Int32Array;
  readonly length: Int32Array;
  readonly statuses: Uint8Array | null;
  readonly tsSeconds: Float64Array | null;
  readonly tsNanos: Uint32Array | null;
  readonly at: number;
}

function entityCells(values: readonly EntityScalar[]): ColumnCells {
  const parts = values.map(entityValueBytes);
  const start = new Int32Array(parts.length);
  const length = new Int32Array(parts.length);
  let pos = 0;
  parts.forEach((p, r) => {
    start[r] = pos;
    length[r] = p.length;
    pos += p.length;
  });
  return { data: Buffer.concat(parts, pos), start, length, statuses: null, tsSeconds: null, tsNanos: null, at: 0 };
}

/** Bytes of a FeatureVector's `values` (field 1) entries. */
function valuesSize(c: ColumnCells, n: number): number {
  let size = 0;
  const { length, at } = c;
  for (let r = 0; r < n; r++) {
    const len = Math.max(0, length[at + r]!);
    size += 1 + varintSize(len) + len;
  }
  return size;
}

/** Bytes of a FeatureVector's `statuses` (field 2, packed) and `event_timestamps` (field 3). */
function tailSize(c: ColumnCells, n: number): number {
  let size = 1 + varintSize(n) + n; // packed statuses: every FieldStatus fits one byte
  const { tsSeconds, tsNanos, at } = c;
  for (let r = 0; r < n; r++) {
    const body = tsSeconds ? tsBodySize(tsSeconds[at + r]!, tsNanos![at + r]!) : 0;
    size += 1 + varintSize(body) + body;
  }
  return size;
}

function writeValues(o: Out, c: ColumnCells, n: number): void {
  const { data, start, length, at } = c;
  for (let r = 0; r < n; r++) {
    // An absent value is an empty Value message, as Feast returns.
    const len = Math.max(0, length[at + r]!);
    o.byte((1 << 3) | 2);
    o.varint(len);
    if (len > 0) o.slice(data, start[at + r]!, len);
  }
}

function writeTail(o: Out, c: ColumnCells, n: number): void {
  const { statuses, tsSeconds, tsNanos, at } = c;
  o.byte((2 << 3) | 2);
  o.varint(n);
  for (let r = 0; r < n; r++) o.byte(statuses ? statuses[at + r]! : FieldStatus.PRESENT);
  for (let r = 0; r < n; r++) {
    const s = tsSeconds ? tsSeconds[at + r]! : 0;
    const ns = tsNanos ? tsNanos[at + r]! : 0;
    o.byte((3 << 3) | 2);
    o.varint(tsBodySize(s, ns));
    if (s !== 0) {
      o.byte(1 << 3);
      o.varint(s);
    }
    if (ns !== 0) {
      o.byte(2 << 3);
      o.varint(ns);
    }
  }
}

/** Field 1 (metadata) whole, per names array (a plan's, so it is encoded once per plan). */
const metadataBytes = new WeakMap<readonly string[], Buffer>();

function metadataField(featureNames: readonly string[]): Buffer {
  let b = metadataBytes.get(featureNames);
  if (b === undefined) {
    const names = featureNames.map((s) => [s, Buffer.byteLength(s, 'utf8')] as const);
    let listSize = 0;
    for (const [, len] of names) listSize += 1 + varintSize(len) + len;
    const metaSize = 1 + varintSize(listSize) + listSize;
    const o = new Out(Buffer.allocUnsafe(1 + varintSize(metaSize) + metaSize));
    o.byte((1 << 3) | 2);
    o.varint(metaSize);
    o.byte((1 << 3) | 2);
    o.varint(listSize);
    for (const [s, len] of names) {
      o.byte((1 << 3) | 2);
      o.varint(len);
      o.utf8(s, len);
    }
    b = o.buf;
    metadataBytes.set(featureNames, b);
  }
  return b;
}

/**
 * The response message, starting `headroom` bytes into the returned Buffer (from `alloc`): the
 * transport writes gRPC's 5-byte message prefix there, so the message is never copied into a frame.
 */
export function encodeOnlineFeaturesResponse(result: OnlineFeaturesResult, headroom = 0, alloc: (size: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const n = result.rowCount;
  const metadata = metadataField(result.featureNames);

  const cells = result.cells;
  const columns: ColumnCells[] = result.entityColumns.map((c) => entityCells(c.values));
  for (let f = 0; f < result.features.length; f++) {
    columns.push({
      data: cells.data,
      start: cells.valueStart,
      length: cells.valueLength,
      statuses: cells.statuses,
      tsSeconds: cells.tsSeconds,
      tsNanos: cells.tsNanos,
      at: f * n,
    });
  }
  // Per column: its values' size, and its statuses+timestamps size, or -1 when they are the
  // previous feature column's (then the previous column's bytes are copied).
  const valueBytes: number[] = new Array(columns.length);
  const tailBytes: number[] = new Array(columns.length);
  const entityCount = result.entityColumns.length;
  let size = metadata.length;
  let tail = 0;
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    valueBytes[i] = valuesSize(c, n);
    const reuse = i > entityCount && sameStatusesAndTimestamps(cells, columns[i - 1]!.at, c.at, n);
    if (!reuse) tail = tailSize(c, n);
    tailBytes[i] = reuse ? -1 : tail;
    const body = valueBytes[i]! + tail;
    size += 1 + varintSize(body) + body;
  }

  const o = new Out(alloc(headroom + size));
  o.buf.set(metadata, headroom);
  o.pos = headroom + metadata.length;
  let tailStart = 0;
  let tailEnd = 0;
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    const t = tailBytes[i]!;
    o.byte((2 << 3) | 2);
    o.varint(valueBytes[i]! + (t < 0 ? tailEnd - tailStart : t));
    writeValues(o, c, n);
    if (t < 0) {
      o.buf.copyWithin(o.pos, tailStart, tailEnd);
      o.pos += tailEnd - tailStart;
      tailStart = o.pos - (tailEnd - tailStart);
      tailEnd = o.pos;
    } else {
      tailStart = o.pos;
      writeTail(o, c, n);
      tailEnd = o.pos;
    }
  }
  if (o.pos !== headroom + size) throw new Error(`response size mismatch: wrote ${o.pos - headroom} of ${size} bytes`);
  return o.buf;
}
