/** The protocol-neutral request and result of the read path. Both transports speak only these. */
import type { EntityScalar } from '../encoding/entity-key.js';
import type { ValueTypeNumber } from '../encoding/value-type.js';

export interface OnlineFeaturesRequest {
  /** `view:feature` references; ignored when `featureService` is set (as Feast). */
  readonly features: readonly string[] | null;
  readonly featureService: string | null;
  /**
   * Column name -> values, in the order the client sent them. Values are plain JS scalars:
   * number, bigint (integers beyond 2^53), string, boolean, Uint8Array, or null.
   */
  readonly entities: ReadonlyMap<string, readonly unknown[]>;
  readonly fullFeatureNames: boolean;
  /** Request data for on-demand views (gRPC `request_context`); read only to validate lengths. */
  readonly requestContext: ReadonlyMap<string, readonly unknown[]> | null;
}

/** feast.serving.FieldStatus (protos/feast/serving/ServingService.proto). */
export const FieldStatus = {
  INVALID: 0,
  PRESENT: 1,
  NULL_VALUE: 2,
  NOT_FOUND: 3,
  OUTSIDE_MAX_AGE: 4,
} as const;
export const FIELD_STATUS_NAMES = ['INVALID', 'PRESENT', 'NULL_VALUE', 'NOT_FOUND', 'OUTSIDE_MAX_AGE'] as const;

export interface EntityColumn {
  readonly name: string;
  readonly valueType: ValueTypeNumber;
  /** The request's values converted to the join key's registry type. */
  readonly values: readonly EntityScalar[];
}

/**
 * The feature cells of a result, column-major and flat (a handful of typed arrays per request
 * instead of several per feature): feature f, row r is index `f * rowCount + r`.
 */
export interface FeatureCells {
  /** Bytes the value offsets point into (the store's reply). */
  readonly data: Buffer;
  /** The serialized feast.types.Value is `data[valueStart[i], valueStart[i] + valueLength[i])`. */
  readonly valueStart: Int32Array;
  /** -1 when the value is absent or was nulled. */
  readonly valueLength: Int32Array;
  readonly statuses: Uint8Array;
  readonly tsSeconds: Float64Array;
  readonly tsNanos: Uint32Array;
  /** Pooled memory behind the arrays above (online/buffer-pool.ts): see `releaseResult`. */
  readonly memory?: ArrayBuffer;
  /** Pooled memory behind `data` (the store's reply), likewise. */
  readonly dataMemory?: ArrayBuffer | undefined;
}

export interface OnlineFeaturesResult {
  /** Output column names: join-key columns, then features (metadata.feature_names). */
  readonly featureNames: readonly string[];
  readonly rowCount: number;
  readonly entityColumns: readonly EntityColumn[];
  /** Output names of the feature columns, in order (the tail of featureNames). */
  readonly features: readonly string[];
  readonly cells: FeatureCells;
}
