/**
 * The Redis the bench seeds and the server reads: REDIS_URL when set; else, by default, a private
 * `redis-server` on a free port (stock configuration, no persistence), stopped at exit, so the
 * numbers do not depend on whatever else uses a shared Redis or how it was configured, and the
 * bench may change `hash-max-listpack-entries` for its second hash-encoding pass. With
 * BENCH_REDIS=shared it uses 127.0.0.1:6379 when something answers there.
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

export async function findRedis(url: string | null, mode: 'private' | 'shared' = 'private'): Promise<RedisTarget> {
  if (url !== null) {
    const u = new URL(url);
    const db = Number(u.pathname.replace(/^\//, '') || 0);
    return target(u.hostname, Number(u.port || 6379), u.password ? decodeURIComponent(u.password) : null, db, 'REDIS_URL');
  }
  if (mode === 'shared' && (await reachable('127.0.0.1', 6379))) return target('127.0.0.1', 6379, null, 0, 'default');
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
  throw new Error('no Redis: REDIS_URL is unset and redis-server could not be started (BENCH_REDIS=shared uses 127.0.0.1:6379)');
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

/** A Redis config value (`CONFIG GET`), or null when the server does not know the name. */
export async function configGet(client: Redis, name: string): Promise<string | null> {
  const reply = (await client.call('CONFIG', 'GET', name)) as string[];
  return reply.length >= 2 ? reply[1]! : null;
}

/**
 * The hash listpack threshold under its Redis 7 name, or its Redis <= 6 name (`ziplist`), whichever
 * the server knows: [name, value].
 */
export async function hashListpackEntries(client: Redis): Promise<[string, number] | null> {
  for (const name of ['hash-max-listpack-entries', 'hash-max-ziplist-entries']) {
    const v = await configGet(client, name).catch(() => null); // CONFIG may be disabled (managed Redis)
    if (v !== null) return [name, Number(v)];
  }
  return null;
}

export interface HashEncodingInfo {
  /** `OBJECT ENCODING` of the first seeded entity's hash: 'hashtable', 'listpack' (7+) or 'ziplist' (<= 6). */
  readonly objectEncoding: string | null;
  /** The threshold in force when the keys were written, e.g. {name: 'hash-max-listpack-entries', value: 128}. */
  readonly listpackEntries: { readonly name: string; readonly value: number } | null;
  readonly listpackValueBytes: number | null;
  /** Fields of that hash (HLEN). */
  readonly fieldsPerHash: number | null;
  /** `MEMORY USAGE` of that hash, bytes. */
  readonly bytesPerHash: number | null;
  /** INFO used_memory after seeding minus before, MiB (approximate: includes anything else written meanwhile). */
  readonly datasetMiB: number | null;
}

export async function hashEncodingInfo(client: Redis, sampleKey: Buffer, listpack: [string, number] | null, datasetBytes: number | null): Promise<HashEncodingInfo> {
  const enc = (await client.call('OBJECT', 'ENCODING', sampleKey).catch(() => null)) as string | null;
  const fields = await client.hlen(sampleKey).catch(() => null);
  const bytes = (await client.call('MEMORY', 'USAGE', sampleKey).catch(() => null)) as number | null;
  const valueName = listpack?.[0].replace('entries', 'value') ?? 'hash-max-listpack-value';
  const value = await configGet(client, valueName).catch(() => null);
  return {
    objectEncoding: enc,
    listpackEntries: listpack ? { name: listpack[0], value: listpack[1] } : null,
    listpackValueBytes: value === null ? null : Number(value),
    fieldsPerHash: fields,
    bytesPerHash: bytes,
    datasetMiB: datasetBytes === null ? null : Math.round((datasetBytes / 2 ** 20) * 10) / 10,
  };
}

export async function usedMemory(client: Redis): Promise<number | null> {
  const v = infoField(await redisInfo(client, 'memory'), 'used_memory');
  return v === null ? null : Number(v);
}
