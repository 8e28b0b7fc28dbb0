/**
 * One protobufjs Root holding every schema in protos/ (Feast's registry, value and serving
 * messages, plus gRPC health), loaded on first use.
 *
 * Field names keep Feast's snake_case spelling (keepCase), so decoded objects read like
 * Feast's .proto files: `spec.entity_columns`, not `spec.entityColumns`. A gRPC loader
 * should pass `keepCase: true` to proto-loader for the same reason.
 *
 * int64/uint64 fields decode to `Long` instances (protobufjs picks up its `long`
 * dependency), not numbers; convert explicitly where a number or string is wanted.
 */
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

// Both src/proto/root.ts (tsx) and dist/proto/root.js (compiled) sit two levels below the repo root.
const PROTOS_DIR = fileURLToPath(new URL('../../protos/', import.meta.url));

/** Every .proto under protos/, relative to protosDir(); import paths inside them are relative to it too. */
export const PROTO_FILES: readonly string[] = [
  'feast/types/Value.proto',
  'feast/types/EntityKey.proto',
  'feast/types/Field.proto',
  'feast/core/Aggregation.proto',
  'feast/core/DataFormat.proto',
  'feast/core/DataSource.proto',
  'feast/core/DatastoreTable.proto',
  'feast/core/Entity.proto',
  'feast/core/Feature.proto',
  'feast/core/FeatureService.proto',
  'feast/core/FeatureTable.proto',
  'feast/core/FeatureView.proto',
  'feast/core/FeatureViewProjection.proto',
  'feast/core/FeatureViewVersion.proto',
  'feast/core/InfraObject.proto',
  'feast/core/LabelView.proto',
  'feast/core/OnDemandFeatureView.proto',
  'feast/core/Permission.proto',
  'feast/core/Policy.proto',
  'feast/core/Project.proto',
  'feast/core/Registry.proto',
  'feast/core/SavedDataset.proto',
  'feast/core/SqliteTable.proto',
  'feast/core/StreamFeatureView.proto',
  'feast/core/Transformation.proto',
  'feast/core/ValidationProfile.proto',
  'feast/serving/ServingService.proto',
  'grpc/health/v1/health.proto',
];

/** Absolute path of protos/ (with trailing separator), e.g. for proto-loader's `includeDirs`. */
export function protosDir(): string {
  return PROTOS_DIR;
}

let root: protobuf.Root | undefined;
const types = new Map<string, protobuf.Type>();

export function protoRoot(): protobuf.Root {
  if (root === undefined) {
    const r = new protobuf.Root();
    // Imports name paths from the protos/ root ("feast/types/Value.proto"), not relative to the
    // importing file as protobufjs assumes by default. google/protobuf/* never reaches this:
    // protobufjs serves those from its bundled copies first.
    r.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTOS_DIR, target));
    r.loadSync([...PROTO_FILES], { keepCase: true });
    r.resolveAll();
    root = r;
  }
  return root;
}

/** Message type by fully qualified name, e.g. `feast.core.Registry`; throws if unknown. */
export function protoType(fullName: string): protobuf.Type {
  let t = types.get(fullName);
  if (t === undefined) {
    t = protoRoot().lookupType(fullName);
    types.set(fullName, t);
  }
  return t;
}
