import { protoType } from '../../proto/root.js';
import { PlatterError } from '../../errors.js';

/** Decode a serialized `feast.core.Registry` (the bare message Feast writes; infra/registry/file.py). */
export function decodeRegistry(bytes: Uint8Array, description: string): Record<string, any> {
  const type = protoType('feast.core.Registry');
  try {
    const msg = type.decode(bytes);
    return type.toObject(msg, { longs: Number, enums: Number, defaults: true, arrays: true, objects: true });
  } catch (err) {
    throw new PlatterError(
      'REGISTRY_INVALID',
      `${description} is not a Feast registry (feast.core.Registry protobuf): ${(err as Error).message}`,
      { cause: err },
    );
  }
}
