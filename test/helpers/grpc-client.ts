/**
 * A gRPC client for feast.serving.ServingService and grpc.health.v1.Health, built at run time
 * with @grpc/proto-loader from our protos (keepCase, int64 as strings, enums as names, oneof
 * discriminators, no defaults: an unset field is absent, so an empty Value decodes as `{}`).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protosDir } from '../../src/proto/root.js';

export interface GrpcCallError extends Error {
  code: number;
  details: string;
}

export interface ServingClients {
  /** Unary call on ServingService; rejects with the grpc-js ServiceError (code, details). */
  serving(method: 'GetOnlineFeatures' | 'GetFeastServingInfo', request: unknown): Promise<any>;
  health(service?: string): Promise<any>;
  close(): void;
}

export function servingClients(address: string): ServingClients {
  const def = protoLoader.loadSync(['feast/serving/ServingService.proto', 'grpc/health/v1/health.proto'], {
    includeDirs: [protosDir()],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const creds = grpc.credentials.createInsecure();
  const serving = new pkg.feast.serving.ServingService(address, creds) as grpc.Client & Record<string, Function>;
  const health = new pkg.grpc.health.v1.Health(address, creds) as grpc.Client & Record<string, Function>;
  const unary = (client: grpc.Client & Record<string, Function>, method: string, request: unknown) =>
    new Promise<any>((resolve, reject) => {
      client[method]!.call(client, request, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: unknown) =>
        err ? reject(err) : resolve(res),
      );
    });
  return {
    serving: (method, request) => unary(serving, method, request),
    health: (service = '') => unary(health, 'Check', { service }),
    close() {
      serving.close();
      health.close();
    },
  };
}
