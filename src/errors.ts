/**
 * Every error Platter shows a user carries a stable code. The code decides the HTTP status and
 * the gRPC status; `feastClass` is the Feast exception a Python client re-raises for it
 * (sdk/python/feast/errors.py; `FeastError.from_error_detail` rebuilds any class of that module
 * from `{module, class, message}`), so Feast's remote client surfaces our errors as its own typed
 * exceptions. Codes with no specific Feast class use the base `FeastError`, which keeps the message.
 */
export const ErrorCodes = {
  INVALID_ARGUMENT: { http: 400, grpc: 3, feastClass: 'FeastError', module: 'feast.errors' },
  EMPTY_REQUEST: { http: 400, grpc: 3, feastClass: 'FeastError', module: 'feast.errors' },
  TOO_MANY_ENTITY_ROWS: { http: 400, grpc: 3, feastClass: 'FeastError', module: 'feast.errors' },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: 8, feastClass: 'FeastError', module: 'feast.errors' },
  FEATURE_REFERENCE_INVALID: { http: 400, grpc: 3, feastClass: 'FeastError', module: 'feast.errors' },
  FEATURE_VIEW_NOT_FOUND: { http: 404, grpc: 5, feastClass: 'FeatureViewNotFoundException', module: 'feast.errors' },
  FEATURE_NOT_FOUND: { http: 404, grpc: 5, feastClass: 'FeastObjectNotFoundException', module: 'feast.errors' },
  FEATURE_SERVICE_NOT_FOUND: { http: 404, grpc: 5, feastClass: 'FeatureServiceNotFoundException', module: 'feast.errors' },
  FEATURE_VIEW_NOT_ONLINE: { http: 422, grpc: 9, feastClass: 'FeastError', module: 'feast.errors' },
  FEATURE_NAME_COLLISION: { http: 422, grpc: 3, feastClass: 'FeatureNameCollisionError', module: 'feast.errors' },
  ENTITY_KEY_MISSING: { http: 422, grpc: 3, feastClass: 'EntityNotFoundException', module: 'feast.errors' },
  ENTITY_VALUE_INVALID: { http: 422, grpc: 3, feastClass: 'FeastError', module: 'feast.errors' },
  ENTITY_COLUMNS_MISMATCH: { http: 422, grpc: 3, feastClass: 'FeastError', module: 'feast.errors' },
  UNSUPPORTED_FEATURE: { http: 422, grpc: 12, feastClass: 'FeastError', module: 'feast.errors' },
  ONLINE_STORE_UNAVAILABLE: { http: 503, grpc: 14, feastClass: 'FeastError', module: 'feast.errors' },
  ONLINE_STORE_TIMEOUT: { http: 504, grpc: 4, feastClass: 'FeastError', module: 'feast.errors' },
  REGISTRY_UNAVAILABLE: { http: 503, grpc: 14, feastClass: 'FeastError', module: 'feast.errors' },
  REGISTRY_INVALID: { http: 500, grpc: 13, feastClass: 'FeastError', module: 'feast.errors' },
  CONFIG_INVALID: { http: 500, grpc: 13, feastClass: 'FeastError', module: 'feast.errors' },
  CONFIG_UNSUPPORTED: { http: 500, grpc: 12, feastClass: 'FeastError', module: 'feast.errors' },
  INTERNAL: { http: 500, grpc: 13, feastClass: 'FeastError', module: 'feast.errors' },
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
