/**
 * The Redis the bench seeds and the server reads: REDIS_URL when set, else 127.0.0.1:6379 when
 * something answers there, else a private `redis-server` on a free port, stopped at exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly password: string | null;
  readonly db: number;
  /** How it was found: 'REDIS_URL', 'default' (127.0.0.1:6379) or 'private'. */
  readonly origin: 'REDIS_URL' | 'default' | 'private';
  /** Runs on this machine (its CPU is subtracted from the background CPU). */
  readonly local: boolean;
  /** Feast's `online_store.connection_string` for it. */
  readonly connectionString: string;
  stop(): Promise<void>;
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.setTimeout(500);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.connect(port, host);
  });
}

function target(host: string, port: number, password: string | null, db: number, origin: RedisTarget['origin'], child?: ChildProcess): RedisTarget {
  const parts = [`${host}:${port}`];
  if (password !== null) parts.push(`password=${password}`);
  if (db !== 0) parts.push(`db=${db}`);
  return {
    host,
    port,
    password,
    db,
    origin,
    local: host === '127.0.0.1' || host === 'localhost' || host === '::1',
    connectionString: parts.join(','),
    stop: async () => {
      if (!child || child.exitCode !== null) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await done;
    },
  };
}

export async function findRedis(url: string | null): Promise<RedisTarget> {
  if (url !== null) {
    const u = new URL(url);
    const db = Number(u.pathname.replace(/^\//, '') || 0);
    return target(u.hostname, Number(u.port || 6379), u.password ? decodeURIComponent(u.password) : null, db, 'REDIS_URL');
  }
  if (await reachable('127.0.0.1', 6379)) return target('127.0.0.1', 6379, null, 0, 'default');
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  child.once('error', () => undefined);
  process.once('exit', () => child.kill());
  for (let i = 0; i < 100; i++) {
    if (await reachable('127.0.0.1', port)) return target('127.0.0.1', port, null, 0, 'private', child);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('no Redis: REDIS_URL is unset, nothing answers on 127.0.0.1:6379 and redis-server could not be started');
}

/** A plain ioredis client for the bench's own bookkeeping (seeding runs through the product's writer). */
export function benchClient(t: RedisTarget): Redis {
  return new Redis({
    host: t.host,
    port: t.port,
    db: t.db,
    ...(t.password !== null ? { password: t.password } : {}),
    maxRetriesPerRequest: 1,
    connectionName: 'platter-bench',
  });
}

export async function redisInfo(client: Redis, section: string): Promise<string> {
  return (await client.info(section)) as string;
}

export function infoField(info: string, field: string): string | null {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m ? m[1]!.trim() : null;
}
