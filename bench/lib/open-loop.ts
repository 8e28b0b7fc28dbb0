/**
 * Open-loop HTTP/1.1 load: requests go out on a fixed schedule — request i is due at
 * t0 + i / rate, whatever happened to the ones before — and each one's latency is measured from
 * its SCHEDULED time. A server that stalls therefore shows the whole stall in every request that
 * was due during it, instead of one slow sample followed by a polite pause (the coordinated
 * omission of closed-loop generators such as autocannon or wrk).
 *
 * Mechanics, chosen to be cheap on a 2-core machine shared with the server and Redis:
 * - raw keep-alive sockets (node:net), one request in flight per socket, `connections` sockets
 *   opened before t0; the request bytes (request line, headers, body) are prebuilt;
 * - a response is complete when Content-Length bytes of body are in (the status line and
 *   headers are parsed once; body bytes are counted, not copied);
 * - due requests wait in a FIFO for a free socket; the wait counts in their latency;
 * - timers: Node's timers have 1 ms resolution, so every tick sends whatever is due within the
 *   next `lookaheadMs` (1 ms). A request sent early is timed from its send, a request sent late
 *   (busy event loop, no free socket) from its scheduled time: latency = done - min(scheduled, sent).
 *   `sendLag` (sent - scheduled) shows how closely the generator kept to the schedule.
 *
 * Verdict: `overloaded` when fewer than 95% of the target rate came back within the window (plus
 * `drainMs` of grace for the last ones), when any request failed or never finished, or when
 * latency grew over the run: median of the last third of the schedule > 2x the first third's
 * and more than 1 ms above it. A server that keeps up shows flat thirds. Requests still
 * unanswered at the end enter every percentile with their wait so far (a lower bound).
 */
import { Socket } from 'node:net';
import { LatencyRecorder, type LatencySummary } from './latency.js';

export interface OpenLoopOptions {
  readonly host: string;
  readonly port: number;
  /** Complete HTTP/1.1 requests; the i-th scheduled request sends requests[(offset + i) % length]. */
  readonly requests: readonly Buffer[];
  /** Requests per second. */
  readonly rate: number;
  /** Length of the schedule. */
  readonly durationMs: number;
  /** Keep-alive sockets (each carries one request at a time). */
  readonly connections: number;
  /** Grace after the schedule ends for the last responses (default 2000). */
  readonly drainMs?: number;
  /** Send requests due within this many ms now (default 1: the timer resolution). */
  readonly lookaheadMs?: number;
  readonly offset?: number;
}

export interface OpenLoopResult {
  readonly targetRps: number;
  readonly scheduled: number;
  readonly completed: number;
  readonly errors: number;
  /** Scheduled requests with no response when the drain time ran out. */
  readonly unfinished: number;
  /** t0 to the last response (at least the schedule's length). */
  readonly elapsedMs: number;
  readonly achievedRps: number;
  /**
   * Milliseconds from each request's scheduled time (or its send, if earlier) to its response.
   * Requests unanswered at the end are included with their wait so far (a lower bound).
   */
  readonly latency: LatencyRecorder;
  /** Milliseconds from scheduled time to send (negative: sent early, within the lookahead). */
  readonly sendLag: LatencySummary;
  /** Latency of the first and last third of the schedule. */
  readonly firstThird: LatencySummary;
  readonly lastThird: LatencySummary;
  /** lastThird.p50 / firstThird.p50. */
  readonly growth: number;
  /** Per second of the schedule: requests answered, p50 and p99 (ms). */
  readonly perSecond: readonly { readonly second: number; readonly completed: number; readonly p50: number; readonly p99: number }[];
  readonly overloaded: boolean;
  /** 'ok' or the reasons for `overloaded`. */
  readonly verdict: string;
  /** Response bytes (headers + body) of the completed requests. */
  readonly bytes: number;
  readonly firstError: string | null;
}

/** A complete POST request with a JSON body. */
export function httpPost(host: string, port: number, path: string, body: string | Buffer): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), b]);
}

const HEADER_END = Buffer.from('\r\n\r\n');

class Conn {
  readonly sock: Socket;
  /** Schedule index of the request in flight, -1 when idle. */
  idx = -1;
  sentAt = 0;
  head: Buffer | null = null;
  bodyLeft = -1;
  status = 0;
  bytes = 0;
  constructor(sock: Socket) {
    this.sock = sock;
  }
}

function connect(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = new Socket();
    s.setNoDelay(true);
    s.once('error', reject);
    s.connect(port, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

function unfinishedAt(state: Uint8Array): boolean {
  return state.includes(0);
}

function summarize(values: ArrayLike<number>): LatencySummary {
  const r = new LatencyRecorder();
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) r.record(values[i]!);
  return r.summary();
}

export async function openLoop(opts: OpenLoopOptions): Promise<OpenLoopResult> {
  const { host, port, requests, rate } = opts;
  const lookahead = opts.lookaheadMs ?? 1;
  const drainMs = opts.drainMs ?? 2000;
  const offset = opts.offset ?? 0;
  const total = Math.max(1, Math.round((rate * opts.durationMs) / 1000));
  const interval = 1000 / rate;
  const lat = new Float64Array(total).fill(NaN);
  const lag = new Float64Array(total).fill(NaN);
  /** 0 = not answered (yet), 1 = answered, 2 = failed. */
  const state = new Uint8Array(total);
  const queue = new Int32Array(total);
  let qHead = 0;
  let qTail = 0;
  let next = 0;
  let completed = 0;
  let errors = 0;
  let bytes = 0;
  let lastDone = 0;
  let firstError: string | null = null;
  const idle: Conn[] = [];
  const conns: Conn[] = [];
  let t0 = 0;
  let finished = false;
  let timer: NodeJS.Timeout | null = null;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const due = (i: number) => t0 + i * interval;

  const settle = (c: Conn, ok: boolean, why?: string) => {
    const i = c.idx;
    c.idx = -1;
    c.head = null;
    c.bodyLeft = -1;
    if (i < 0) return;
    const now = performance.now();
    state[i] = ok ? 1 : 2;
    if (ok) {
      lat[i] = now - Math.min(due(i), c.sentAt);
      completed++;
      bytes += c.bytes;
      lastDone = now;
    } else {
      errors++;
      firstError ??= why ?? 'error';
    }
    if (completed + errors === total) resolveDone();
  };

  const onData = (c: Conn, chunk: Buffer) => {
    if (c.idx < 0) return;
    c.bytes += chunk.length;
    if (c.bodyLeft < 0) {
      const head = c.head === null ? chunk : Buffer.concat([c.head, chunk]);
      const end = head.indexOf(HEADER_END);
      if (end < 0) {
        c.head = head;
        return;
      }
      const text = head.toString('latin1', 0, end);
      c.status = Number(text.slice(9, 12));
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      if (!m) {
        c.sock.destroy(new Error('response without Content-Length (chunked responses are not parsed)'));
        return;
      }
      c.head = null;
      c.bodyLeft = Number(m[1]) - (head.length - end - 4);
    } else {
      c.bodyLeft -= chunk.length;
    }
    if (c.bodyLeft > 0) return;
    if (c.bodyLeft < 0) {
      c.sock.destroy(new Error('more bytes than Content-Length (pipelined or malformed response)'));
      return;
    }
    const ok = c.status >= 200 && c.status < 300;
    settle(c, ok, ok ? undefined : `HTTP ${c.status}`);
    idle.push(c);
    tick();
  };

  const attach = (c: Conn) => {
    c.sock.on('data', (chunk: Buffer) => onData(c, chunk));
    c.sock.on('error', (err) => {
      firstError ??= err.message;
    });
    c.sock.on('close', () => {
      settle(c, false, 'connection closed');
      const at = idle.indexOf(c);
      if (at >= 0) idle.splice(at, 1);
      const k = conns.indexOf(c);
      if (k >= 0) conns.splice(k, 1);
      if (finished) return;
      // Replace it (the server closed an idle or failed connection).
      connect(host, port).then(
        (s) => {
          if (finished) return s.destroy();
          const n = new Conn(s);
          conns.push(n);
          attach(n);
          idle.push(n);
          tick();
        },
        (err: Error) => {
          firstError ??= err.message;
        },
      );
    });
  };

  const send = (c: Conn, i: number) => {
    c.idx = i;
    c.bytes = 0;
    c.sentAt = performance.now();
    lag[i] = c.sentAt - due(i);
    c.sock.write(requests[(offset + i) % requests.length]!);
  };

  function tick(): void {
    if (finished) return;
    const horizon = performance.now() + lookahead;
    while (next < total && due(next) <= horizon) queue[qTail++] = next++;
    while (qHead < qTail && idle.length > 0) send(idle.pop()!, queue[qHead++]!);
    if (next < total && timer === null) {
      timer = setTimeout(() => {
        timer = null;
        tick();
      }, Math.max(0, due(next) - lookahead - performance.now()));
    }
  }

  for (const s of await Promise.all(Array.from({ length: Math.max(1, opts.connections) }, () => connect(host, port)))) {
    const c = new Conn(s);
    conns.push(c);
    attach(c);
    idle.push(c);
  }
  t0 = performance.now() + 5;
  tick();
  const deadline = new Promise<void>((r) => setTimeout(r, opts.durationMs + drainMs + 5).unref());
  await Promise.race([done, deadline]);
  finished = true;
  if (timer !== null) clearTimeout(timer);
  for (const c of conns) c.sock.destroy();

  const endAt = performance.now();
  const elapsedMs = Math.max(opts.durationMs, (unfinishedAt(state) ? endAt : lastDone || endAt) - t0);
  // A request still unanswered counts with its wait so far: a lower bound, never a silent drop.
  for (let i = 0; i < total; i++) if (state[i] === 0 && due(i) < endAt) lat[i] = endAt - due(i);
  const latency = new LatencyRecorder();
  for (let i = 0; i < total; i++) if (!Number.isNaN(lat[i]!)) latency.record(lat[i]!);
  const third = Math.max(1, Math.floor(total / 3));
  const firstThird = summarize(lat.subarray(0, third));
  const lastThird = summarize(lat.subarray(total - third));
  const growth = lastThird.p50 / firstThird.p50;
  const perSecond: { second: number; completed: number; p50: number; p99: number }[] = [];
  const perS = Math.max(1, Math.round(rate));
  for (let s = 0; s * perS < total; s++) {
    const sum = summarize(lat.subarray(s * perS, Math.min(total, (s + 1) * perS)));
    perSecond.push({ second: s, completed: sum.count, p50: sum.p50, p99: sum.p99 });
  }
  const unfinished = total - completed - errors;
  const achievedRps = completed / (elapsedMs / 1000);
  const reasons: string[] = [];
  if (achievedRps < 0.95 * rate) reasons.push(`achieved ${Math.round((100 * achievedRps) / rate)}% of the rate`);
  if (unfinished > 0) reasons.push(`${unfinished} unanswered after ${drainMs} ms`);
  if (errors > 0) reasons.push(`${errors} errors (${firstError})`);
  if (lastThird.p50 > 2 * firstThird.p50 && lastThird.p50 - firstThird.p50 > 1) {
    reasons.push(`latency grew: p50 ${firstThird.p50.toFixed(2)} -> ${lastThird.p50.toFixed(2)} ms from first to last third`);
  }
  return {
    targetRps: rate,
    scheduled: total,
    completed,
    errors,
    unfinished,
    elapsedMs,
    achievedRps,
    latency,
    sendLag: summarize(lag),
    firstThird,
    lastThird,
    growth,
    perSecond,
    overloaded: reasons.length > 0,
    verdict: reasons.length === 0 ? 'ok' : reasons.join('; '),
    bytes,
    firstError,
  };
}
