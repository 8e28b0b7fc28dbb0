/** What a Redis server says about its clients and commands, for tests that prove who sent what. */
import type { Redis } from 'ioredis';

/** One CLIENT LIST line as its fields (`id=.. addr=.. laddr=.. name=.. cmd=..`). */
export type ClientInfo = Record<string, string>;

/** CLIENT LIST as one record per connection. */
export async function clientList(admin: Redis): Promise<ClientInfo[]> {
  const text = (await admin.call('CLIENT', 'LIST')) as string;
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Object.fromEntries(l.trim().split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
}

/** INFO commandstats as command (lower case) -> calls. */
export async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const text = await admin.info('commandstats');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}
