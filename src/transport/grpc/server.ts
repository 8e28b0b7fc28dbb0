/**
 * The gRPC transport: feast.serving.ServingService (GetOnlineFeatures, GetFeastServingInfo) and
 * grpc.health.v1.Health over @grpc/grpc-js, on the same serving core as HTTP. Requests are
 * decoded by proto-loader from our protos; responses are written by encode-response.ts.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Logger } from 'pino';
import { PlatterError } from '../../errors.js';
import { protosDir } from '../../proto/root.js';
import { releaseResult, type OnlineFeatureService } from '../../serving/online-features.js';
import { decodeGrpcRequest } from './decode-request.js';
import { encodeOnlineFeaturesResponse } from './encode-response.js';

export interface GrpcDeps {
  readonly service: OnlineFeatureService;
  readonly health: () => Promise<void>;
  readonly logger: Logger;
  readonly version: string;
  readonly maxRequestBytes: number;
}

export interface GrpcServer {
  readonly port: number;
  close(): Promise<void>;
}

export function loadServiceDefinitions(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(['feast/serving/ServingService.proto', 'grpc/health/v1/health.proto'], {
    includeDirs: [protosDir()],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
}

function toStatus(err: unknown, logger: Logger): Partial<grpc.StatusObject> {
  if (err instanceof PlatterError) return { code: err.grpcStatus, details: `${err.code}: ${err.message}` };
  logger.error({ err }, 'unexpected error while serving a gRPC request');
  return { code: grpc.status.INTERNAL, details: 'INTERNAL: internal error; see the server log' };
}

export async function startGrpcServer(deps: GrpcDeps, host: string, port: number): Promise<GrpcServer> {
  const pkg = loadServiceDefinitions();
  const serving = pkg['feast.serving.ServingService'] as grpc.ServiceDefinition;
  const servingDef: grpc.ServiceDefinition = {
    ...serving,
    // Both directions skip protobufjs objects: the request is decoded by decode-request.ts and
    // the response is already protobuf bytes.
    GetOnlineFeatures: {
      ...serving.GetOnlineFeatures!,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    },
  };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': deps.maxRequestBytes,
    'grpc.max_send_message_length': -1,
  });

  server.addService(servingDef, {
    GetOnlineFeatures: (call: grpc.ServerUnaryCall<Buffer, Uint8Array>, cb: grpc.sendUnaryData<Uint8Array>) => {
      let req;
      try {
        req = decodeGrpcRequest(call.request);
      } catch (err) {
        cb(toStatus(err, deps.logger));
        return;
      }
      deps.service.get(req).then(
        (result) => {
          let bytes: Buffer;
          try {
            bytes = encodeOnlineFeaturesResponse(result);
          } catch (err) {
            cb(toStatus(err, deps.logger));
            return;
          } finally {
            releaseResult(result);
          }
          cb(null, bytes);
        },
        (err) => cb(toStatus(err, deps.logger)),
      );
    },
    GetFeastServingInfo: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      cb(null, { version: deps.version });
    },
  });

  const healthStatus = async (service: string): Promise<string> => {
    if (service !== '' && service !== 'feast.serving.ServingService') return 'SERVICE_UNKNOWN';
    try {
      await deps.health();
      return 'SERVING';
    } catch {
      return 'NOT_SERVING';
    }
  };
  server.addService(pkg['grpc.health.v1.Health'] as grpc.ServiceDefinition, {
    Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      healthStatus(call.request.service ?? '').then((status) => {
        if (status === 'SERVICE_UNKNOWN') cb({ code: grpc.status.NOT_FOUND, details: `unknown service '${call.request.service}'` });
        else cb(null, { status });
      });
    },
    // Sends the current status, then every change, until the client cancels.
    Watch: (call: grpc.ServerWritableStream<{ service?: string }, unknown>) => {
      let last = '';
      const tick = () =>
        healthStatus(call.request.service ?? '').then((status) => {
          if (status !== last && !call.cancelled) {
            last = status;
            call.write({ status });
          }
        });
      void tick();
      const timer = setInterval(tick, 1000);
      call.on('cancelled', () => clearInterval(timer));
      call.on('close', () => clearInterval(timer));
    },
  });

  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) reject(new PlatterError('CONFIG_INVALID', `cannot listen on ${host}:${port} for gRPC (${err.message}); pass --grpc-port`));
      else resolve(p);
    });
  });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}
