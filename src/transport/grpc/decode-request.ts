/**
 * `feast.serving.GetOnlineFeaturesRequest` (as decoded by proto-loader with keepCase, longs as
 * strings, oneofs) -> the serving core's request. Entity Values become plain JS scalars; the
 * registry's join key type decides the encoding later.
 */
import { PlatterError } from '../../errors.js';
import type { OnlineFeaturesRequest } from '../../serving/types.js';

type ProtoValue = Record<string, unknown> & { val?: string };

function scalar(v: ProtoValue, where: string): unknown {
  const kind = v.val;
  if (kind === undefined || kind === 'null_val') return null;
  const x = v[kind];
  switch (kind) {
    case 'int64_val':
    case 'unix_timestamp_val': {
      const b = BigInt(String(x));
      return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
    }
    case 'int32_val':
    case 'string_val':
    case 'bool_val':
    case 'double_val':
    case 'float_val':
    case 'bytes_val':
      return x;
    default:
      throw new PlatterError('ENTITY_VALUE_INVALID', `${where}: a ${kind} cannot be an entity value`);
  }
}

function columns(m: unknown, field: string): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  if (!m || typeof m !== 'object') return out;
  for (const [k, rv] of Object.entries(m as Record<string, { val?: ProtoValue[] }>)) {
    out.set(k, (rv?.val ?? []).map((v, i) => scalar(v, `${field}.${k}[${i}]`)));
  }
  return out;
}

export function decodeGrpcRequest(msg: Record<string, any>): OnlineFeaturesRequest {
  const context = columns(msg.request_context, 'request_context');
  return {
    features: msg.kind === 'features' ? ((msg.features?.val ?? []) as string[]) : null,
    featureService: msg.kind === 'feature_service' ? (msg.feature_service as string) || null : null,
    entities: columns(msg.entities, 'entities'),
    fullFeatureNames: msg.full_feature_names === true,
    requestContext: context.size > 0 ? context : null,
  };
}
