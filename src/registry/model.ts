/**
 * Plain, resolved shapes of the Feast registry objects Platter serves. Built once per registry
 * load (from-proto.ts) and never walked per request: the index and plans hold references to them.
 */
import type { ValueTypeNumber } from '../encoding/value-type.js';

export interface FeatureDef {
  readonly name: string;
  readonly valueType: ValueTypeNumber;
}

export interface JoinKeyDef {
  readonly name: string;
  readonly valueType: ValueTypeNumber;
}

export interface EntityDef {
  readonly name: string;
  readonly joinKey: string;
  readonly valueType: ValueTypeNumber;
}

export type ViewKind = 'feature_view' | 'stream_feature_view' | 'on_demand_feature_view';

/** Feast's `FeatureViewState` (protos/feast/core/FeatureView.proto). */
export const FeatureViewState = {
  STATE_UNSPECIFIED: 0,
  CREATED: 1,
  GENERATED: 2,
  MATERIALIZING: 3,
  AVAILABLE_ONLINE: 4,
} as const;

export interface FeatureViewDef {
  readonly name: string;
  readonly kind: ViewKind;
  readonly project: string;
  /** Entity names as registered; `['__dummy']` for entity-less views. */
  readonly entityNames: readonly string[];
  /**
   * Join keys with the type used to encode the entity key: `entity_columns` (FeatureViewSpec
   * field 12) when present; registries written before that field existed fall back to the
   * Entity's `value_type`.
   */
  readonly joinKeys: readonly JoinKeyDef[];
  readonly features: readonly FeatureDef[];
  readonly featureByName: ReadonlyMap<string, FeatureDef>;
  /** View TTL in seconds (whole and fractional); 0 means the values never go stale. */
  readonly ttlSeconds: number;
  readonly online: boolean;
  readonly disabled: boolean;
  readonly state: number;
  /** On-demand views only: whether the transformation ran at write time (readable from the store). */
  readonly writeToOnlineStore: boolean;
  /** Name of the push/stream source feeding the view, for the push writer. */
  readonly streamSourceName: string | null;
}

export interface ProjectionDef {
  readonly viewName: string;
  /** Alias if set, else the view name: the prefix of full feature names. */
  readonly nameToUse: string;
  /** Selected features in the service's order. */
  readonly features: readonly string[];
  /** View join key -> request column (FeatureViewProjection.join_key_map). */
  readonly joinKeyMap: ReadonlyMap<string, string>;
}

export interface LoggingConfigDef {
  readonly sampleRate: number;
  readonly destination: string | null;
}

export interface FeatureServiceDef {
  readonly name: string;
  readonly projections: readonly ProjectionDef[];
  readonly logging: LoggingConfigDef | null;
}

/** Entity-less feature views read a dummy key (sdk/python/feast/feature_view.py DUMMY_ENTITY_*). */
export const DUMMY_ENTITY_NAME = '__dummy';
export const DUMMY_ENTITY_ID = '__dummy_id';
export const DUMMY_ENTITY_VAL = '';
