/**
 * Feast's HTTP request body (sdk/python/feast/feature_server.py GetOnlineFeaturesRequest):
 * `{entities, features | feature_service, full_feature_names, request_context?}`; unknown keys
 * are ignored, as pydantic does there.
 */
import { PlatterError } from '../../errors.js';
import { parseJsonExact } from '../../encoding/json-parse.js';
import type { OnlineFeaturesRequest } from '../../serving/types.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function columns(v: unknown, field: string): Map<string, readonly unknown[]> {
  if (v === undefined || v === null) return new Map();
  if (!isObject(v)) throw new PlatterError('INVALID_ARGUMENT', `'${field}' must be an object of column name -> list of values`);
  const out = new Map<string, readonly unknown[]>();
  for (const k of Object.keys(v)) {
    const col = v[k];
    if (!Array.isArray(col)) {
      throw new PlatterError('INVALID_ARGUMENT', `'${field}.${k}' must be a list of values, one per entity row`);
    }
    out.set(k, col);
  }
  return out;
}

export function decodeOnlineFeaturesBody(body: Buffer): OnlineFeaturesRequest {
  if (body.length === 0) throw new PlatterError('EMPTY_REQUEST', 'request body is empty: send a JSON object');
  const doc = parseJsonExact(body.toString('utf8'));
  if (!isObject(doc)) throw new PlatterError('INVALID_ARGUMENT', 'request body must be a JSON object');

  const { features, feature_service: service, full_feature_names: full } = doc;
  if (features !== undefined && features !== null) {
    if (!Array.isArray(features) || features.some((f) => typeof f !== 'string')) {
      throw new PlatterError('INVALID_ARGUMENT', "'features' must be a list of \"view:feature\" strings");
    }
  }
  if (service !== undefined && service !== null && typeof service !== 'string') {
    throw new PlatterError('INVALID_ARGUMENT', "'feature_service' must be a string");
  }
  if (full !== undefined && full !== null && typeof full !== 'boolean') {
    throw new PlatterError('INVALID_ARGUMENT', "'full_feature_names' must be true or false");
  }
  if (doc.entities === undefined) {
    throw new PlatterError('EMPTY_REQUEST', "'entities' is required: an object of join key -> list of values");
  }
  const context = columns(doc.request_context, 'request_context');
  return {
    features: (features as string[] | null | undefined) ?? null,
    featureService: (service as string | null | undefined) || null,
    entities: columns(doc.entities, 'entities'),
    fullFeatureNames: full === true,
    requestContext: context.size > 0 ? context : null,
  };
}
