/**
 * Converts request values to the join key's registry type. The registry decides the type (an
 * INT32 entity encodes with tag 3 even when the client sent a plain JSON number), never the JSON
 * shape: DESIGN.md §8, Feast Python `python_values_to_proto_values` with the entity column type.
 */
import { PlatterError } from '../errors.js';
import type { EntityScalar } from '../encoding/entity-key.js';
import { ValueType, valueTypeName, type ValueTypeNumber } from '../encoding/value-type.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^-?\d+$/;

function bad(column: string, row: number, v: unknown, want: string): PlatterError {
  const shown = typeof v === 'bigint' ? v.toString() : JSON.stringify(v) ?? String(v);
  return new PlatterError(
    'ENTITY_VALUE_INVALID',
    `entity column '${column}' row ${row}: ${shown} is not a valid ${want}`,
  );
}

function toBigInt(column: string, row: number, v: unknown, want: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && INTEGER_TEXT.test(v.trim())) return BigInt(v.trim());
  throw bad(column, row, v, want);
}

export function toEntityScalar(column: string, row: number, type: ValueTypeNumber, v: unknown): EntityScalar {
  switch (type) {
    case ValueType.STRING:
      if (typeof v === 'string') return { type: 2, value: v };
      throw bad(column, row, v, 'string (the entity is declared STRING)');
    case ValueType.INT64: {
      if (typeof v === 'number' && Number.isSafeInteger(v)) return { type: 4, value: v };
      const b = toBigInt(column, row, v, 'int64');
      if (b < INT64_MIN || b > INT64_MAX) throw bad(column, row, v, 'int64 (out of range)');
      return { type: 4, value: b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b };
    }
    case ValueType.INT32: {
      const b = typeof v === 'number' && Number.isInteger(v) ? v : Number(toBigInt(column, row, v, 'int32'));
      if (!Number.isInteger(b) || b < -2147483648 || b > 2147483647) throw bad(column, row, v, 'int32 (out of range)');
      return { type: 3, value: b };
    }
    case ValueType.UNIX_TIMESTAMP: {
      const b = toBigInt(column, row, v, 'unix timestamp in seconds');
      return { type: 8, value: b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b };
    }
    case ValueType.BYTES:
      if (v instanceof Uint8Array) return { type: 1, value: v };
      // JSON has no bytes: accept base64, the form our responses print bytes in.
      if (typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v)) return { type: 1, value: Buffer.from(v, 'base64') };
      throw bad(column, row, v, 'base64 string (the entity is declared BYTES)');
    default:
      throw new PlatterError(
        'ENTITY_VALUE_INVALID',
        `entity column '${column}' has type ${valueTypeName(type)}, which Feast cannot use in an entity key (BYTES, STRING, INT32, INT64, UNIX_TIMESTAMP)`,
      );
  }
}
