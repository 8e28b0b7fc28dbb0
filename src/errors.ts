/**
 * Every error Platter shows a user carries a stable code. The code decides the HTTP status and
 * the gRPC status; `feastClass` is the Feast exception a Python client re-raises for it
 * (feast/errors.py), so Feast's remote client surfaces our errors as its own typed exceptions.
 */
export const ErrorCodes = {
  INVALID_ARGUMENT: { http: 400, grpc: 3, feastClass: 'ValueError', module: 'builtins' },
  EMPTY_REQUEST: { http: 400, grpc: 3, feastClass: 'ValueError', module: 'builtins' },
  TOO_MANY_ENTITY_ROWS: { http: 400, grpc: 3, feastClass: 'ValueError', module: 'builtins' },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: 8, feastClass: 'ValueError', module: 'builtins' },
  FEATURE_REFERENCE_INVALID: { http: 400, grpc: 3, feastClass: 'ValueError', module: 'builtins' },
  FEATURE_VIEW_NOT_FOUND: { http: 404, grpc: 5, feastClass: 'FeatureViewNotFoundException', module: 'feast.errors' },
  FEATURE_NOT_FOUND: { http: 404, grpc: 5, feastClass: 'FeatureNameNotFoundException', module: 'feast.errors' },
  FEATURE_SERVICE_NOT_FOUND: { http: 404, grpc: 5, feastClass: 'FeatureServiceNotFoundException', module: 'feast.errors' },
  FEATURE_VIEW_NOT_ONLINE: { http: 422, grpc: 9, feastClass: 'ValueError', module: 'builtins' },
  FEATURE_NAME_COLLISION: { http: 422, grpc: 3, feastClass: 'FeatureNameCollisionError', module: 'feast.errors' },
  ENTITY_KEY_MISSING: { http: 422, grpc: 3, feastClass: 'EntityNotFoundException', module: 'feast.errors' },
  ENTITY_VALUE_INVALID: { http: 422, grpc: 3, feastClass: 'ValueError', module: 'builtins' },
  ENTITY_COLUMNS_MISMATCH: { http: 422, grpc: 3, feastClass: 'ValueError', module: 'builtins' },
  UNSUPPORTED_FEATURE: { http: 422, grpc: 12, feastClass: 'ValueError', module: 'builtins' },
  ONLINE_STORE_UNAVAILABLE: { http: 503, grpc: 14, feastClass: 'RuntimeError', module: 'builtins' },
  ONLINE_STORE_TIMEOUT: { http: 504, grpc: 4, feastClass: 'RuntimeError', module: 'builtins' },
  REGISTRY_UNAVAILABLE: { http: 503, grpc: 14, feastClass: 'RuntimeError', module: 'builtins' },
  REGISTRY_INVALID: { http: 500, grpc: 13, feastClass: 'RuntimeError', module: 'builtins' },
  CONFIG_INVALID: { http: 500, grpc: 13, feastClass: 'RuntimeError', module: 'builtins' },
  CONFIG_UNSUPPORTED: { http: 500, grpc: 12, feastClass: 'RuntimeError', module: 'builtins' },
  INTERNAL: { http: 500, grpc: 13, feastClass: 'RuntimeError', module: 'builtins' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class PlatterError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PlatterError';
    this.code = code;
  }
  get httpStatus(): number {
    return ErrorCodes[this.code].http;
  }
  get grpcStatus(): number {
    return ErrorCodes[this.code].grpc;
  }
}

export function isPlatterError(e: unknown): e is PlatterError {
  return e instanceof PlatterError;
}
