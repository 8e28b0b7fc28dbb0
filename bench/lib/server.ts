/**
 * Child-process servers: `platter serve` (the built CLI, bin/platter.js -> dist/) and the bench's
 * reference servers (bench/baselines/*.ts, run through tsx). Each runs on free ports, is ready when
 * GET /health answers 200, and stops with SIGTERM. The child's pid is what the CPU accounting reads;
 * its log is kept (last 200 lines) for error messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildServer {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly httpUrl: string;
  /** The child's recent stdout/stderr lines. */
  log(): string;
  stop(): Promise<void>;
}

export interface ServerProcess extends ChildServer {
  readonly grpcAddress: string;
  /** Its admin endpoint (token `bench`): GET /metrics. */
  readonly adminUrl: string;
}

export interface StartOptions {
  readonly repoDir: string;
  /** Extra environment for the server (e.g. PLATTER_LOG_LEVEL). */
  readonly env?: Readonly<Record<string, string>>;
  /** Node flags for the server process, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] (not allowed in NODE_OPTIONS). */
  readonly nodeArgs?: readonly string[];
  readonly readyTimeoutMs?: number;
  /** Another checkout (with its dist/ built) whose `bin/platter.js` to run; default this one. */
  readonly root?: string;
  /** `--workers` (default 1). */
  readonly workers?: number;
}

/** Spawns `node <args>` (the child listens on `port`) and waits for GET /health. */
export async function startChild(
  name: string,
  args: readonly string[],
  port: number,
  opts: { readonly env?: Readonly<Record<string, string>>; readonly readyTimeoutMs?: number } = {},
): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, [...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(l);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // BENCH_SERVER_LOG=<file>: the whole output too (e.g. with BENCH_SERVER_NODE_ARGS=--trace-gc).
  const logFile = process.env.BENCH_SERVER_LOG;
  if (logFile) {
    const out = createWriteStream(logFile, { flags: 'a' });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
  }
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${code}`}`;
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const host = '127.0.0.1';
  const httpUrl = `http://${host}:${port}`;
  const server: ChildServer = {
    pid: child.pid!,
    host,
    port,
    httpUrl,
    log: () => lines.join('\n'),
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${name} ${exited} before it was ready:\n${server.log()}`);
    try {
      const res = await fetch(`${httpUrl}/health`);
      const text = await res.text();
      if (res.status === 200) return server;
      last = `${res.status} ${text}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await server.stop();
  throw new Error(`${name} did not become healthy (${last}):\n${server.log()}`);
}

/** `platter serve` on free HTTP and gRPC ports. */
export async function startServer(opts: StartOptions): Promise<ServerProcess> {
  const root = opts.root === undefined ? REPO_ROOT : opts.root.endsWith('/') ? opts.root : `${opts.root}/`;
  const cli = `${root}bin/platter.js`;
  if (!existsSync(`${root}dist/cli/platter.js`)) {
    throw new Error(`${root}dist/ is missing: run "npm run build" there first ("npm run bench" does)`);
  }
  const port = await freePort();
  const grpcPort = await freePort();
  // The admin port serves /metrics: the server's own request latency histogram.
  const adminPort = await freePort();
  const child = await startChild(
    'platter serve',
    [
      ...(opts.nodeArgs ?? []),
      cli,
      'serve',
      '--repo', opts.repoDir,
      '--host', '127.0.0.1',
      '--port', String(port),
      '--grpc-port', String(grpcPort),
      '--admin-port', String(adminPort),
      ...((opts.workers ?? 1) > 1 ? ['--workers', String(opts.workers)] : []),
    ],
    port,
    { env: { PLATTER_LOG_LEVEL: 'warn', PLATTER_ADMIN_TOKEN: 'bench', ...opts.env }, ...(opts.readyTimeoutMs !== undefined ? { readyTimeoutMs: opts.readyTimeoutMs } : {}) },
  );
  return { ...child, grpcAddress: `127.0.0.1:${grpcPort}`, adminUrl: `http://127.0.0.1:${adminPort}` };
}

/** A bench reference server (bench/baselines/<file>), run from TypeScript through tsx: `--port` is added. */
export async function startBaseline(file: string, args: readonly string[]): Promise<ChildServer> {
  const port = await freePort();
  const path = fileURLToPath(new URL(`../baselines/${file}`, import.meta.url));
  return startChild(file, ['--import', 'tsx', path, '--port', String(port), ...args], port);
}
