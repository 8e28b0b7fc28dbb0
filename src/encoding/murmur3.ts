/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's public-domain algorithm).
 *
 * Feast names Redis hash fields with it: `mmh3.hash("<view>:<feature>", signed=False)`, seed 0
 * (sdk/python/feast/infra/online_stores/helpers.py `_mmh3`; the Go server uses
 * spaolacci/murmur3 `New32()`). Returns the unsigned 32-bit result.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

export function murmur3x86_32(data: Uint8Array, seed = 0): number {
  const len = data.length;
  const nblocks = len >>> 2;
  let h = seed | 0;
  let i = 0;

  for (let b = 0; b < nblocks; b++, i += 4) {
    let k =
      (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) | 0;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }

  const tail = len & 3;
  if (tail !== 0) {
    let k = 0;
    if (tail === 3) k ^= data[i + 2]! << 16;
    if (tail >= 2) k ^= data[i + 1]! << 8;
    k ^= data[i]!;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }

  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
