/**
 * The HTTP transport on uWebSockets.js: decode, call the serving core, render. uWS rules
 * (docs/index.d.ts): an HttpRequest is only valid synchronously, an async response must set
 * onAborted, writes after an await go inside res.cork(), and onData chunks are copied.
 */
import uWS from 'uWebSockets.js';
import type { Logger } from 'pino';
import { ErrorCodes, PlatterError } from '../../errors.js';
import { outcomeOfStatus, type RequestMetrics, type RequestOutcome } from '../../ops/request-metrics.js';
import { releaseResult, type OnlineFeatureService } from '../../serving/online-features.js';
import type { OnlineFeaturesResult } from '../../serving/types.js';
import { decodeOnlineFeaturesBody } from './decode-request.js';
import { renderOnlineFeaturesJson } from './render-json.js';

export interface HttpDeps {
  readonly service: OnlineFeatureService;
  /** Resolves when the registry is loaded and the online store answers; rejects with the reason otherwise. */
  readonly health: () => Promise<void>;
  readonly logger: Logger;
  readonly maxRequestBytes: number;
  readonly metrics: RequestMetrics;
}

export interface HttpServer {
  readonly port: number;
  close(): void;
}

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  422: '422 Unprocessable Entity',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
  504: '504 Gateway Timeout',
};

/**
 * Error body Feast's Python client turns back into its typed exception: a JSON string holding
 * `{module, class, message}` (errors.py FeastError.to_error_detail, served as JSONResponse content;
 * rest_error_handler.py parses `response.json()` with from_error_detail). We add our stable `code`.
 */
export function errorBody(err: PlatterError): string {
  const meta = ErrorCodes[err.code];
  return JSON.stringify(JSON.stringify({ module: meta.module, class: meta.feastClass, message: err.message, code: err.code }));
}

function toPlatterError(err: unknown, logger: Logger): PlatterError {
  if (err instanceof PlatterError) return err;
  logger.error({ err }, 'unexpected error while serving a request');
  return new PlatterError('INTERNAL', 'internal error; see the server log');
}

export function startHttpServer(deps: HttpDeps, host: string, port: number): Promise<HttpServer> {
  const { service, logger, maxRequestBytes, metrics } = deps;
  const app = uWS.App();

  const send = (res: uWS.HttpResponse, status: number, body: string | Uint8Array, type = 'application/json') => {
    res.cork(() => {
      res.writeStatus(STATUS_TEXT[status] ?? `${status} Error`).writeHeader('Content-Type', type).end(body);
    });
  };
  const sendError = (res: uWS.HttpResponse, err: unknown): number => {
    const e = toPlatterError(err, logger);
    if (e.httpStatus >= 500) logger.warn({ code: e.code, msg: e.message }, 'request failed');
    send(res, e.httpStatus, errorBody(e));
    return e.httpStatus;
  };
  const observe = (started: number, outcome: RequestOutcome) => metrics.observe('http', outcome, performance.now() - started);

  app.post('/get-online-features', (res) => {
    const started = performance.now();
    const state = { aborted: false };
    res.onAborted(() => {
      if (state.aborted) return; // refused as too large: already counted
      state.aborted = true;
      observe(started, 'cancelled');
    });
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      if (state.aborted) return;
      size += chunk.byteLength;
      if (size > maxRequestBytes) {
        state.aborted = true;
        const e = new PlatterError(
          'PAYLOAD_TOO_LARGE',
          `request body exceeds ${maxRequestBytes} bytes (platter.max_request_bytes); split the request`,
        );
        res.cork(() => {
          res.writeStatus(STATUS_TEXT[413]!).writeHeader('Content-Type', 'application/json').end(errorBody(e), true);
        });
        observe(started, 'client_error');
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(Buffer.from(chunk)));
      if (!isLast) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      let pending: Promise<OnlineFeaturesResult>;
      try {
        pending = service.get(decodeOnlineFeaturesBody(body));
      } catch (err) {
        observe(started, outcomeOfStatus(sendError(res, err)));
        return;
      }
      pending.then(
        (result) => {
          // Rendered and sent in one synchronous step: the rendered bytes live in a buffer the
          // next response reuses, and uWS copies them before `end` returns.
          if (state.aborted) return releaseResult(result);
          let json: Buffer;
          try {
            json = renderOnlineFeaturesJson(result);
          } catch (err) {
            releaseResult(result);
            observe(started, outcomeOfStatus(sendError(res, err)));
            return;
          }
          releaseResult(result);
          send(res, 200, json);
          observe(started, 'ok');
        },
        (err) => {
          if (!state.aborted) observe(started, outcomeOfStatus(sendError(res, err)));
        },
      );
    });
  });

  app.get('/health', (res) => {
    const state = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
    });
    deps.health().then(
      () => !state.aborted && send(res, 200, '', 'text/plain'),
      (err) => !state.aborted && send(res, 503, (err as Error).message, 'text/plain'),
    );
  });

  app.any('/*', (res, req) => {
    const method = req.getMethod().toUpperCase();
    const url = req.getUrl();
    const known = url === '/get-online-features' || url === '/health';
    const e = new PlatterError(
      'INVALID_ARGUMENT',
      known ? `${method} is not allowed on ${url}` : `no route ${method} ${url}; Platter serves POST /get-online-features and GET /health`,
    );
    res.writeStatus(STATUS_TEXT[known ? 405 : 404]!).writeHeader('Content-Type', 'application/json').end(errorBody(e));
  });

  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (!token) {
        reject(new PlatterError('CONFIG_INVALID', `cannot listen on ${host}:${port} for HTTP (port in use?); pass --port`));
        return;
      }
      resolve({
        port: uWS.us_socket_local_port(token),
        close: () => uWS.us_listen_socket_close(token),
      });
    });
  });
}
