/**
 * Decodes `feast.serving.GetOnlineFeaturesRequest` bytes straight into the serving core's request
 * (ServingService.proto: feature_service=1, features=2 FeatureList{val=1}, entities=3
 * map<string, RepeatedValue{val=1 Value}>, full_feature_names=4, request_context=5 (same map),
 * include_feature_view_version_metadata=6). Skipping protobufjs's object graph and toObject pass
 * matters on a path that runs per request; entity Values become plain JS scalars and the
 * registry's join key type decides the encoding later.
 */
import protobuf from 'protobufjs';
import { PlatterError } from '../../errors.js';
import { decodeValue } from '../../encoding/value-json.js';
import type { OnlineFeaturesRequest } from '../../serving/types.js';

const SAFE = 9007199254740991n;

/** `field`, `key`, `index` name the value in an error; the text is built only then. */
function scalar(buf: Uint8Array, start: number, end: number, field: string, key: string, index: number): unknown {
  const d = decodeValue(buf, start, end);
  switch (d.kind) {
    case 'unset':
    case 'null_val':
      return null;
    case 'int64_val':
    case 'unix_timestamp_val':
      return d.value >= -SAFE && d.value <= SAFE ? Number(d.value) : d.value;
    case 'int32_val':
    case 'string_val':
    case 'bool_val':
    case 'double_val':
    case 'float_val':
    case 'bytes_val':
      return d.value;
    default:
      throw new PlatterError('ENTITY_VALUE_INVALID', `${field}.${key || '?'}[${index}]: a ${d.kind} cannot be an entity value`);
  }
}

/** One map<string, RepeatedValue> entry; returns [key, values]. */
function mapEntry(r: protobuf.Reader, end: number, field: string): [string, unknown[]] {
  let key = '';
  const values: unknown[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) {
      key = r.string();
    } else if (tag === 18) {
      const rvEnd = r.uint32() + r.pos;
      while (r.pos < rvEnd) {
        const t = r.uint32();
        if (t === 10) {
          const len = r.uint32();
          values.push(scalar(r.buf, r.pos, r.pos + len, field, key, values.length));
          r.pos += len;
        } else r.skipType(t & 7);
      }
    } else r.skipType(tag & 7);
  }
  return [key, values];
}

export function decodeGrpcRequest(bytes: Uint8Array): OnlineFeaturesRequest {
  const r = protobuf.Reader.create(bytes);
  let featureService: string | null = null;
  let features: string[] | null = null;
  let full = false;
  const entities = new Map<string, unknown[]>();
  const context = new Map<string, unknown[]>();
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      switch (tag >>> 3) {
        case 1:
          featureService = r.string();
          features = null; // oneof kind: the last one on the wire wins
          break;
        case 2: {
          const end = r.uint32() + r.pos;
          features = [];
          featureService = null;
          while (r.pos < end) {
            const t = r.uint32();
            if (t === 10) features.push(r.string());
            else r.skipType(t & 7);
          }
          break;
        }
        case 3:
        case 5: {
          const end = r.uint32() + r.pos;
          const [k, v] = mapEntry(r, end, tag >>> 3 === 3 ? 'entities' : 'request_context');
          (tag >>> 3 === 3 ? entities : context).set(k, v);
          break;
        }
        case 4:
          full = r.bool();
          break;
        default:
          r.skipType(tag & 7);
      }
    }
  } catch (err) {
    if (err instanceof PlatterError) throw err;
    throw new PlatterError('INVALID_ARGUMENT', `GetOnlineFeaturesRequest is not valid protobuf: ${(err as Error).message}`);
  }
  return {
    features,
    featureService: featureService || null,
    entities,
    fullFeatureNames: full,
    requestContext: context.size > 0 ? context : null,
  };
}
