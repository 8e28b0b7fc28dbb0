/**
 * Writes `feast.serving.GetOnlineFeaturesResponse` bytes directly (ServingService.proto:
 * metadata=1 {feature_names=1 FeatureList{val=1}}, results=2 FeatureVector{values=1 Value,
 * statuses=2 packed enum, event_timestamps=3 Timestamp}). Feature values are the Value bytes read
 * from the store, copied without decoding.
 */
import protobuf from 'protobufjs';
import type { EntityScalar } from '../../encoding/entity-key.js';
import { FieldStatus, type OnlineFeaturesResult } from '../../serving/types.js';

const { Writer } = protobuf;
type W = protobuf.Writer;

/** feast.types.Value for an entity value: the oneof field number equals the ValueType. */
function writeEntityValue(w: W, v: EntityScalar): void {
  w.uint32((1 << 3) | 2).fork();
  switch (v.type) {
    case 1:
      w.uint32((1 << 3) | 2).bytes(v.value);
      break;
    case 2:
      w.uint32((2 << 3) | 2).string(v.value);
      break;
    case 3:
      w.uint32(3 << 3).int32(v.value);
      break;
    case 4:
    case 8:
      w.uint32(v.type << 3).int64(typeof v.value === 'bigint' ? v.value.toString() : v.value);
      break;
  }
  w.ldelim();
}

function writeTimestamp(w: W, seconds: number, nanos: number): void {
  w.uint32((3 << 3) | 2).fork();
  if (seconds !== 0) w.uint32(1 << 3).int64(seconds);
  if (nanos !== 0) w.uint32(2 << 3).int32(nanos);
  w.ldelim();
}

export function encodeOnlineFeaturesResponse(result: OnlineFeaturesResult): Uint8Array {
  const w = Writer.create();
  const n = result.rowCount;

  w.uint32((1 << 3) | 2).fork(); // metadata
  w.uint32((1 << 3) | 2).fork(); // feature_names
  for (const name of result.featureNames) w.uint32((1 << 3) | 2).string(name);
  w.ldelim();
  w.ldelim();

  for (const col of result.entityColumns) {
    w.uint32((2 << 3) | 2).fork();
    for (let r = 0; r < n; r++) writeEntityValue(w, col.values[r]!);
    w.uint32((2 << 3) | 2).fork();
    for (let r = 0; r < n; r++) w.int32(FieldStatus.PRESENT);
    w.ldelim();
    for (let r = 0; r < n; r++) writeTimestamp(w, 0, 0);
    w.ldelim();
  }
  for (const col of result.featureColumns) {
    w.uint32((2 << 3) | 2).fork();
    for (let r = 0; r < n; r++) {
      const v = col.values[r];
      // An absent value is an empty Value message (what Feast returns for missing data).
      if (v) w.uint32((1 << 3) | 2).bytes(v);
      else w.uint32((1 << 3) | 2).uint32(0);
    }
    w.uint32((2 << 3) | 2).fork();
    for (let r = 0; r < n; r++) w.int32(col.statuses[r]!);
    w.ldelim();
    for (let r = 0; r < n; r++) writeTimestamp(w, col.tsSeconds[r]!, col.tsNanos[r]!);
    w.ldelim();
  }
  return w.finish();
}
