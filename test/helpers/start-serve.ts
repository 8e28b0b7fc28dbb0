/** Boots the real server (HTTP on uWS, gRPC on grpc-js) on free ports for a test. */
import { pino } from 'pino';
import { serve, type RunningServer } from '../../src/cli/serve.js';

export interface TestServer extends RunningServer {
  url: string;
  grpcAddress: string;
  post(path: string, body: unknown): Promise<{ status: number; text: string; json: any }>;
}

export async function startServe(repo: string, env?: Record<string, string | undefined>): Promise<TestServer> {
  const server = await serve({
    repo,
    host: '127.0.0.1',
    port: 0,
    grpcPort: 0,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...(env ? { env } : {}),
  });
  const url = `http://127.0.0.1:${server.http.port}`;
  return Object.assign(server, {
    url,
    grpcAddress: `127.0.0.1:${server.grpc!.port}`,
    async post(path: string, body: unknown) {
      const res = await fetch(url + path, {
        method: 'POST',
        // No keep-alive: an idle pooled socket keeps the test process alive ~4 s after close().
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: any = undefined;
      try {
        json = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, text, json };
    },
  });
}
