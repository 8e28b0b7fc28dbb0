import { protoType } from '../../proto/root.js';
import { PlatterError } from '../../errors.js';

/** The toObject options every registry reader uses: Feast's snake_case names, longs as Number. */
export const TO_OBJECT = { longs: Number, enums: Number, defaults: true, arrays: true, objects: true } as const;

/** Decode a serialized `feast.core.Registry` (the bare message Feast writes; infra/registry/file.py). */
export function decodeRegistry(bytes: Uint8Array, description: string): Record<string, any> {
  const type = protoType('feast.core.Registry');
  try {
    const msg = type.decode(bytes);
    return type.toObject(msg, TO_OBJECT);
  } catch (err) {
    throw new PlatterError(
      'REGISTRY_INVALID',
      `${description} is not a Feast registry (feast.core.Registry protobuf): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Decode one serialized registry object (e.g. a `feature_view_proto` cell) into the same object
 * shape as `decodeRegistry` gives for it. `where` names the row for the error.
 */
export function decodeMessage(typeName: string, bytes: Uint8Array, where: string): Record<string, any> {
  const type = protoType(typeName);
  try {
    return type.toObject(type.decode(bytes), TO_OBJECT);
  } catch (err) {
    throw new PlatterError(
      'REGISTRY_INVALID',
      `${where} is not a ${typeName} protobuf: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
