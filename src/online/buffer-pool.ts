/**
 * Reused ArrayBuffers for a request's large scratch arrays (reply offsets, cell arrays).
 *
 * Why: a 100-row x 250-feature read needs ~1.2 MB of such arrays, and freshly allocated ones are
 * external memory to V8. At a few hundred requests a second that churn made V8 run a full
 * mark-compact ("external memory pressure") every ~100 ms, 6-8 ms each, during which every request
 * in the process waits. Buffers taken here are given back when the request is done with them and
 * go to the next request instead.
 *
 * Discipline: `give` a buffer only when nothing reads it any more; a buffer given twice, or one
 * that did not come from `take`, is ignored. Contents are NOT cleared: callers write every element
 * they read. Buffers never given back are simply collected.
 */

/**
 * Smaller requests get a plain allocation. Not much higher: an ArrayBuffer's memory is never
 * young-generation garbage (it is calloc'd, zeroed and counted as external memory), and pooling
 * from 4 KiB instead of 64 KiB cut server CPU per request by ~20% on 10x50 and 1x250, whose arrays
 * are 4-60 KiB (bench/ab.ts against d596123).
 */
const MIN_SHIFT = 12; // 4 KiB
/** Larger requests are rare enough to allocate. */
const MAX_SHIFT = 24; // 16 MiB
const KEEP_PER_CLASS = 32;
const KEEP_BYTES = 64 * 1024 * 1024;

export class ArrayBufferPool {
  readonly #free: ArrayBuffer[][] = Array.from({ length: MAX_SHIFT + 1 }, () => []);
  readonly #lent = new WeakSet<ArrayBuffer>();
  #kept = 0;

  /** A buffer of at least `bytes` bytes (its `byteLength` may be larger), contents undefined. */
  take(bytes: number): ArrayBuffer {
    if (bytes < 1 << MIN_SHIFT || bytes > 1 << MAX_SHIFT) return new ArrayBuffer(bytes);
    const shift = 32 - Math.clz32(bytes - 1);
    const free = this.#free[shift]!;
    let ab = free.pop();
    if (ab === undefined) ab = new ArrayBuffer(1 << shift);
    else this.#kept -= ab.byteLength;
    this.#lent.add(ab);
    return ab;
  }

  /** Returns a buffer from `take` for reuse. */
  give(ab: ArrayBuffer): void {
    if (!this.#lent.has(ab)) return;
    this.#lent.delete(ab);
    const free = this.#free[31 - Math.clz32(ab.byteLength)]!;
    if (free.length >= KEEP_PER_CLASS || this.#kept + ab.byteLength > KEEP_BYTES) return;
    free.push(ab);
    this.#kept += ab.byteLength;
  }
}

/** The process's pool: the read path is one event loop, so one pool serves every request. */
export const scratch = new ArrayBufferPool();

/** Gives back the pooled memory a read's cells (or a result's) hold, once nothing reads them. */
export function releaseCells(cells: { readonly memory?: ArrayBuffer | undefined; readonly dataMemory?: ArrayBuffer | undefined }): void {
  if (cells.memory !== undefined) scratch.give(cells.memory);
  if (cells.dataMemory !== undefined) scratch.give(cells.dataMemory);
}
