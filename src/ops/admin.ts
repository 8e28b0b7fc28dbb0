/**
 * The admin endpoint, on its own port and off the hot path (node:http, not uWS):
 *   POST /admin/refresh-registry[?force=1]  bearer token; runs the single-flight registry refresh
 *                                           and answers once it is done (CI: `feast apply`, then call
 *                                           every replica)
 *   GET  /admin/registry                    bearer token; the served registry as JSON (registry dump)
 *   GET  /metrics                           Prometheus text, no token
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { isPlatterError } from '../errors.js';
import { dumpIndex } from '../registry/dump.js';
import type { RegistryCache } from '../registry/registry-cache.js';
import { renderPrometheus, type MetricFamily } from './metrics.js';

/** An admin answer: HTTP status and JSON body. */
export interface AdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * What the admin routes act on: one process's registry (`localAdminBackend`), or, under
 * `platter serve --workers`, every worker through the primary (cli/workers.ts).
 */
export interface AdminBackend {
  refresh(force: boolean): Promise<AdminAnswer>;
  registry(): Promise<AdminAnswer>;
  metrics(): Promise<MetricFamily[]>;
}

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly logger: Logger;
  readonly backend: AdminBackend;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

const errorBody = (err: unknown) => ({ code: isPlatterError(err) ? err.code : 'INTERNAL', message: (err as Error).message });

/** The admin routes over this process's registry cache. */
export function localAdminBackend(registry: RegistryCache, metrics: () => MetricFamily[], logger: Logger): AdminBackend {
  return {
    async refresh(force) {
      const t0 = performance.now();
      try {
        const { index, changed } = await registry.refresh({ force });
        logger.info({ changed, force, generation: index.generation }, 'registry refresh requested on the admin port');
        return {
          status: 200,
          body: {
            changed,
            generation: index.generation,
            loadedAt: index.loadedAt.toISOString(),
            featureViews: index.views.size,
            featureServices: index.services.size,
            ms: Math.round((performance.now() - t0) * 10) / 10,
          },
        };
      } catch (err) {
        const serving = registry.loaded ? registry.current() : null;
        return {
          status: isPlatterError(err) ? err.httpStatus : 500,
          body: {
            error: errorBody(err),
            serving: serving ? { generation: serving.generation, loadedAt: serving.loadedAt.toISOString() } : null,
          },
        };
      }
    },
    async registry() {
      try {
        return { status: 200, body: dumpIndex(registry.current(), registry.source.description) };
      } catch (err) {
        return { status: isPlatterError(err) ? err.httpStatus : 500, body: { error: errorBody(err) } };
      }
    },
    async metrics() {
      return metrics();
    },
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const { backend, logger } = opts;
  const expected = digest(opts.token);
  const authorized = (req: IncomingMessage): boolean => {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    // Compare digests: equal length, constant time.
    return m !== null && timingSafeEqual(digest(m[1]!.trim()), expected);
  };
  const unauthorized = (res: ServerResponse) =>
    send(res, 401, { error: { code: 'UNAUTHORIZED', message: 'send `Authorization: Bearer <token>` with the admin token (platter.admin.token or PLATTER_ADMIN_TOKEN)' } }, {
      'www-authenticate': 'Bearer realm="platter-admin"',
    });

  const routes: Record<string, { method: string; handle: (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void> }> = {
    '/metrics': {
      method: 'GET',
      handle: async (_req, res) =>
        send(res, 200, renderPrometheus(await backend.metrics()), { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
    },
    '/admin/refresh-registry': {
      method: 'POST',
      handle: async (req, res, url) => {
        if (!authorized(req)) return unauthorized(res);
        const force = ['1', 'true', 'yes'].includes((url.searchParams.get('force') ?? '').toLowerCase());
        const a = await backend.refresh(force);
        send(res, a.status, a.body);
      },
    },
    '/admin/registry': {
      method: 'GET',
      handle: async (req, res) => {
        if (!authorized(req)) return unauthorized(res);
        const a = await backend.registry();
        send(res, a.status, a.body);
      },
    },
  };

  const server = createServer((req, res) => {
    req.resume(); // no route reads a body
    const url = new URL(req.url ?? '/', 'http://admin');
    const route = routes[url.pathname];
    if (route === undefined) {
      return send(res, 404, { error: { code: 'NOT_FOUND', message: `no admin route ${url.pathname}; routes: ${Object.entries(routes).map(([p, r]) => `${r.method} ${p}`).join(', ')}` } });
    }
    if (req.method !== route.method) {
      return send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} is not allowed on ${url.pathname}; use ${route.method}` } }, { allow: route.method });
    }
    Promise.resolve(route.handle(req, res, url)).catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'admin request failed');
      if (!res.headersSent) send(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
    });
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err: err.message }, 'admin server error'));
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: opts.host, port }, 'admin endpoint listening (POST /admin/refresh-registry, GET /admin/registry, GET /metrics)');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
