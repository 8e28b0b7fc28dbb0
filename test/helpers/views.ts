/** Registry view definitions for reader-level tests that build their own read layouts. */
import { ValueType } from '../../src/encoding/value-type.js';
import type { FeatureViewDef } from '../../src/registry/model.js';

/** An online feature view of `project` keyed by `driver_id` (INT64) whose features are all INT64. */
export function int64DriverView(project: string, name: string, features: readonly string[]): FeatureViewDef {
  return {
    name,
    kind: 'feature_view',
    project,
    entityNames: ['driver'],
    joinKeys: [{ name: 'driver_id', valueType: ValueType.INT64 }],
    features: features.map((f) => ({ name: f, valueType: ValueType.INT64 })),
    featureByName: new Map(features.map((f) => [f, { name: f, valueType: ValueType.INT64 }])),
    ttlSeconds: 0,
    online: true,
    disabled: false,
    state: 0,
    writeToOnlineStore: true,
    streamSourceName: null,
  };
}
