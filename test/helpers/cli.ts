/**
 * The real CLI as a child process: `node --import tsx src/cli/platter.ts`, not `node bin/platter.js`.
 * bin/ loads dist/, which is only as fresh as the last `npm run build`, so a stale or missing dist/
 * would test old code (or nothing) while src/ changes underneath. The tsx entry runs the same
 * main() bin/ reaches, from the sources under test.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = ['--import', 'tsx', join(ROOT, 'src', 'cli', 'platter.ts')];

export interface Run {
  child: ChildProcess;
  /** stdout + stderr so far. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `platter <args>`; it is SIGKILLed if the test process exits first. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, PLATTER_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', kill);
      resolve({ code, signal });
    }),
  );
  return { child, output: () => out, exited };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms).unref())]);

/** Polls GET /health on `port` until it answers 200; fails with the server's output if it exits or takes too long. */
export async function waitHealthy(run: Run, port: number, timeoutMs = 30_000): Promise<void> {
  let exitedEarly = false;
  void run.exited.then(() => (exitedEarly = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    assert.ok(!exitedEarly, `platter serve exited before it was healthy:\n${run.output()}`);
    assert.ok(Date.now() < deadline, `platter serve not healthy within ${timeoutMs} ms:\n${run.output()}`);
    try {
      const h = await fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } });
      await h.arrayBuffer();
      if (h.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
}
