/**
 * Redis Cluster hash slot of a key, on bytes (Feast's keys are binary: serialized entity key ++
 * project). The rule is Redis's `keyHashSlot` (cluster.c, and the cluster spec's "Keys hash tags"):
 * CRC16/XMODEM (poly 0x1021, init 0, no reflection) of the key, or of the bytes between the first
 * `{` and the first `}` after it when that span is not empty; modulo 16384.
 */
export const CLUSTER_SLOTS = 16384;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    t[i] = crc;
  }
  return t;
})();

export function crc16(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let crc = 0;
  for (let i = from; i < to; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

export function keySlot(key: Uint8Array): number {
  const open = key.indexOf(0x7b); // {
  if (open >= 0) {
    const close = key.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(key, open + 1, close) & (CLUSTER_SLOTS - 1);
  }
  return crc16(key) & (CLUSTER_SLOTS - 1);
}
