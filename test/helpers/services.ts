/**
 * Finds the real services integration tests talk to: REDIS_URL when set, else the local default
 * redis://127.0.0.1:6379, else a private `redis-server` started on a free port for this process.
 * Tests isolate themselves by project name (Feast suffixes every Redis key with the project).
 */
import { createServer, Socket } from 'node:net';
import { Redis } from 'ioredis';
import { startRedisServer } from './redis-server.js';

export interface RedisTarget {
  host: string;
  port: number;
  url: string;
}

let target: Promise<RedisTarget> | null = null;

/** True when something accepts a TCP connection on host:port within 500 ms. */
export function reachable(host: string, port: number): Promise<boolean> {
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

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function startPrivateRedis(): Promise<RedisTarget> {
  try {
    // Shared by the whole test process, which must still be able to exit while it runs.
    const { port } = await startRedisServer({ unref: true, timeoutMs: 5000 });
    return { host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}` };
  } catch (err) {
    throw new Error(`could not start a private redis-server (is it installed?): ${String(err)}`);
  }
}

export function redisTarget(): Promise<RedisTarget> {
  target ??= (async () => {
    const fromEnv = process.env.REDIS_URL;
    if (fromEnv) {
      const u = new URL(fromEnv);
      return { host: u.hostname, port: Number(u.port || 6379), url: fromEnv };
    }
    if (await reachable('127.0.0.1', 6379)) return { host: '127.0.0.1', port: 6379, url: 'redis://127.0.0.1:6379' };
    return startPrivateRedis();
  })();
  return target;
}

export async function redisClient(): Promise<Redis> {
  const t = await redisTarget();
  return new Redis({ host: t.host, port: t.port, lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** A project name no other test uses: every Feast Redis key ends with it. */
export function uniqueProject(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Deletes every key of a project (keys end with the project name). */
export async function dropProject(client: Redis, project: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scanBuffer(cursor, 'MATCH', `*${project}`, 'COUNT', 1000);
    cursor = next.toString();
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}
