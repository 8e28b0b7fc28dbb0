/**
 * The read path: request -> cached plan -> entity keys (deduplicated) -> one store read ->
 * columns with statuses. Protocol-neutral: HTTP and gRPC both call `get()` and render the result.
 */
import { PlatterError } from '../errors.js';
import type { EntityKeyVersion, EntityScalar } from '../encoding/entity-key.js';
import { decodeTimestamp } from '../encoding/timestamp.js';
import { isNullValue } from '../encoding/value-json.js';
import type { RegistryCache } from '../registry/registry-cache.js';
import type { OnlineReader, ReadBatch, ReadCells } from '../online/types.js';
import { releaseCells, scratch } from '../online/buffer-pool.js';
import { Planner, type Plan } from './plan.js';
import { toEntityScalar } from './entity-values.js';
import {
  FieldStatus,
  type EntityColumn,
  type FeatureCells,
  type OnlineFeaturesRequest,
  type OnlineFeaturesResult,
} from './types.js';

export interface ServingOptions {
  readonly entityKeySerializationVersion: EntityKeyVersion;
  readonly maxEntityRows: number;
  /** 'flag': stale values are returned with OUTSIDE_MAX_AGE; 'null': they are nulled too. */
  readonly ttlPolicy: 'flag' | 'null';
  /** Clock in epoch milliseconds (injectable so TTL behaviour is testable). */
  readonly now?: () => number;
}

const DUMMY_VALUES: readonly EntityScalar[] = [{ type: 2, value: '' }];

/**
 * A Value holding one int32/int64/bool varint (tags 0x18, 0x20, 0x38) and nothing else: the
 * usual feature, and never null. Small enough to inline into the per-cell loop; anything else
 * goes to `isNullValue`.
 */
function isOneVarintField(d: Buffer, s: number, len: number): boolean {
  const tag = d[s];
  if ((tag !== 0x20 && tag !== 0x18 && tag !== 0x38) || len < 2 || len > 11) return false;
  const e = s + len - 1;
  if (d[e]! >= 0x80) return false;
  for (let i = s + 1; i < e; i++) if (d[i]! < 0x80) return false;
  return true;
}

export class OnlineFeatureService {
  readonly #registry: RegistryCache;
  readonly #reader: OnlineReader;
  readonly #opts: ServingOptions;
  #planner: Planner | null = null;

  constructor(registry: RegistryCache, reader: OnlineReader, opts: ServingOptions) {
    this.#registry = registry;
    this.#reader = reader;
    this.#opts = opts;
  }

  #plannerFor(): Planner {
    const index = this.#registry.current();
    let p = this.#planner;
    if (p === null || p.index !== index) {
      p = new Planner(index, this.#reader, this.#opts.entityKeySerializationVersion);
      this.#planner = p;
    }
    return p;
  }

  /** Resolve a request without reading (validation and `metadata.feature_names`). */
  plan(req: OnlineFeaturesRequest): Plan {
    const useService = req.featureService !== null && req.featureService !== '';
    if (!useService && (req.features === null || req.features.length === 0)) {
      throw new PlatterError('EMPTY_REQUEST', 'no features requested: send `features` (["view:feature", ...]) or `feature_service`');
    }
    return this.#plannerFor().plan(useService ? null : req.features, useService ? req.featureService : null, req.fullFeatureNames, [
      ...req.entities.keys(),
    ]);
  }

  async get(req: OnlineFeaturesRequest): Promise<OnlineFeaturesResult> {
    const plan = this.plan(req);
    const rowCount = this.#rowCount(req, plan);

    // Entity keys per group, deduplicated: rowToKey[g][row] -> index into keys[g].
    const converted = new Map<string, EntityScalar[]>();
    const column = (name: string, type: number): EntityScalar[] => {
      const id = `${name}\u0000${type}`;
      let c = converted.get(id);
      if (c === undefined) {
        const raw = req.entities.get(name)!;
        c = new Array(rowCount);
        for (let r = 0; r < rowCount; r++) c[r] = toEntityScalar(name, r, type as never, raw[r]);
        converted.set(id, c);
      }
      return c;
    };

    const batches: ReadBatch[] = [];
    const rowToKey: Int32Array[] = [];
    const suffix = this.#reader.keySuffix;
    for (const g of plan.groups) {
      const map = new Int32Array(rowCount);
      const keys: Buffer[] = [];
      if (g.dummy) {
        keys.push(g.encoder.encode(DUMMY_VALUES, suffix));
      } else {
        const cols = g.joinKeys.map((j) => column(j.column!, j.valueType));
        const values: EntityScalar[] = new Array(cols.length);
        if (rowCount === 1) {
          for (let c = 0; c < cols.length; c++) values[c] = cols[c]![0]!;
          keys.push(g.encoder.encode(values, suffix));
          rowToKey.push(map);
          batches.push({ layout: g.layout, prepared: g.prepared, keys });
          continue;
        }
        // Rows are deduplicated by their join-key value when there is one join key (a value
        // converted to the key's type encodes to exactly one key), by the key bytes otherwise.
        const seen = new Map<unknown, number>();
        const single = cols.length === 1 ? cols[0]! : null;
        for (let r = 0; r < rowCount; r++) {
          let id: unknown;
          let key: Buffer | null = null;
          if (single !== null) {
            const v = single[r]!.value;
            id = v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1') : v;
          } else {
            for (let c = 0; c < cols.length; c++) values[c] = cols[c]![r]!;
            key = g.encoder.encode(values, suffix);
            id = key.toString('latin1');
          }
          let k = seen.get(id);
          if (k === undefined) {
            if (key === null) {
              values[0] = single![r]!;
              key = g.encoder.encode(values, suffix);
            }
            k = keys.length;
            seen.set(id, k);
            keys.push(key);
          }
          map[r] = k;
        }
      }
      rowToKey.push(map);
      batches.push({ layout: g.layout, prepared: g.prepared, keys });
    }

    const cells = await this.#reader.read(batches);
    const nowSeconds = Math.floor((this.#opts.now?.() ?? Date.now()) / 1000);
    const featureCells = this.#cells(plan, batches, cells, rowToKey, rowCount, nowSeconds);
    // The read's offsets are copied into the result's cells: nothing reads them any more.
    if (cells.memory !== undefined) scratch.give(cells.memory);
    return {
      featureNames: plan.featureNames,
      rowCount,
      entityColumns: plan.entityColumns.map(
        (c): EntityColumn => ({ name: c.output, valueType: c.valueType, values: column(c.name, c.valueType) }),
      ),
      features: plan.outputFeatureNames,
      cells: featureCells,
    };
  }

  #rowCount(req: OnlineFeaturesRequest, plan: Plan): number {
    let n = -1;
    let first = '';
    const check = (name: string, values: readonly unknown[]) => {
      if (!Array.isArray(values)) {
        throw new PlatterError('INVALID_ARGUMENT', `entities.${name} must be a list of values`);
      }
      if (n < 0) {
        n = values.length;
        first = name;
      } else if (values.length !== n) {
        throw new PlatterError(
          'ENTITY_COLUMNS_MISMATCH',
          `entity columns must all have the same length: '${first}' has ${n} values but '${name}' has ${values.length}`,
        );
      }
    };
    for (const [name, values] of req.entities) check(name, values);
    if (req.requestContext) for (const [name, values] of req.requestContext) check(name, values);
    if (n < 0) {
      // Only entity-less views were requested: Feast reads one dummy row.
      if (plan.groups.every((g) => g.dummy)) return 1;
      throw new PlatterError('EMPTY_REQUEST', 'entities is empty: send at least one join key column');
    }
    if (n === 0) throw new PlatterError('EMPTY_REQUEST', 'entity columns are empty: send at least one entity row');
    if (n > this.#opts.maxEntityRows) {
      throw new PlatterError(
        'TOO_MANY_ENTITY_ROWS',
        `request has ${n} entity rows; the limit is ${this.#opts.maxEntityRows} (platter.max_entity_rows); split the request`,
      );
    }
    return n;
  }

  /**
   * Status precedence (DESIGN.md §8): NOT_FOUND (no `_ts` for the view, or the field itself is
   * absent) > NULL_VALUE (empty Value or null_val) > OUTSIDE_MAX_AGE (now - event > ttl, whole
   * seconds as Feast's Go server; ttl 0 never expires) > PRESENT.
   */
  #cells(
    plan: Plan,
    batches: readonly ReadBatch[],
    cells: ReadCells,
    rowToKey: Int32Array[],
    rowCount: number,
    nowSeconds: number,
  ): FeatureCells {
    const { data, start, length } = cells;
    // Each (group, key, view) timestamp is decoded once: state 0 = not yet, 1 = present, 2 = absent.
    // tsBase[g]: the group's first entry in the per-(key, view) arrays.
    const tsBase: number[] = new Array(batches.length);
    let tsTotal = 0;
    for (let g = 0; g < batches.length; g++) {
      tsBase[g] = tsTotal;
      tsTotal += batches[g]!.keys.length * batches[g]!.layout.views.length;
    }
    const total = plan.features.length * rowCount;
    // Every array of the result and of the timestamp cache in one allocation (8-byte elements
    // first, then 4, then 1: each view stays aligned). Reused memory (releaseResult): every element
    // read below is written first; only `state` starts cleared.
    const mem = scratch.take((total + tsTotal) * 8 + (3 * total + tsTotal) * 4 + total + tsTotal);
    let at = 0;
    const tsSeconds = new Float64Array(mem, at, total);
    const secondsOf = new Float64Array(mem, (at += total * 8), tsTotal);
    const valueStart = new Int32Array(mem, (at += tsTotal * 8), total);
    const valueLength = new Int32Array(mem, (at += total * 4), total);
    const tsNanos = new Uint32Array(mem, (at += total * 4), total);
    const nanosOf = new Uint32Array(mem, (at += total * 4), tsTotal);
    const statuses = new Uint8Array(mem, (at += tsTotal * 4), total);
    const state = new Uint8Array(mem, at + total, tsTotal).fill(0);
    const nullStale = this.#opts.ttlPolicy === 'null';
    let i = 0;
    for (const f of plan.features) {
      const g = f.group;
      const slot = f.slot;
      const tsSlot = f.tsSlot;
      const ttl = f.ttlSeconds;
      const map = rowToKey[g]!;
      const base = cells.base[g]!;
      const width = batches[g]!.layout.width;
      const views = batches[g]!.layout.views.length;
      const tsAt = tsBase[g]! + f.viewInGroup;
      for (let r = 0; r < rowCount; r++, i++) {
        const k = map[r]!;
        const cell = base + k * width;
        const t = tsAt + k * views;
        if (state[t] === 0) {
          const len = length[cell + tsSlot]!;
          if (len < 0) state[t] = 2;
          else {
            state[t] = 1;
            if (len > 0) {
              const at = start[cell + tsSlot]!;
              const ts = decodeTimestamp(data, at, at + len);
              secondsOf[t] = ts.seconds;
              nanosOf[t] = ts.nanos;
            } else {
              secondsOf[t] = 0;
              nanosOf[t] = 0;
            }
          }
        }
        const vs = start[cell + slot]!;
        const vl = length[cell + slot]!;
        if (state[t] === 2 || vl < 0) {
          valueStart[i] = 0;
          valueLength[i] = -1;
          // NOT_FOUND carries the zero timestamp (Feast: an unset Timestamp).
          tsSeconds[i] = 0;
          tsNanos[i] = 0;
          statuses[i] = FieldStatus.NOT_FOUND;
          continue;
        }
        const seconds = secondsOf[t]!;
        tsSeconds[i] = seconds;
        tsNanos[i] = nanosOf[t]!;
        valueStart[i] = vs;
        valueLength[i] = vl;
        if (!isOneVarintField(data, vs, vl) && isNullValue(data, vs, vs + vl)) {
          valueLength[i] = -1;
          statuses[i] = FieldStatus.NULL_VALUE;
        } else if (ttl > 0 && nowSeconds - seconds > ttl) {
          if (nullStale) valueLength[i] = -1;
          statuses[i] = FieldStatus.OUTSIDE_MAX_AGE;
        } else {
          statuses[i] = FieldStatus.PRESENT;
        }
      }
    }
    return { data, valueStart, valueLength, statuses, tsSeconds, tsNanos, memory: mem, dataMemory: cells.dataMemory };
  }
}

/**
 * Gives a result's cell memory back for the next request. Call it once the result has been
 * rendered or encoded (or dropped) and nothing reads it any more; a result never released is
 * simply collected.
 */
export function releaseResult(result: OnlineFeaturesResult): void {
  releaseCells(result.cells);
}

/**
 * Memory for a transport's rendered response (a gRPC message of 64 KiB and up comes from the same
 * pool as the cells; smaller ones are plain allocations). A transport hands it back with
 * `releaseResponseBytes` once the socket write that sends it has completed.
 */
export function responseBytes(size: number): Buffer {
  return size >= 1 << 16 ? Buffer.from(scratch.take(size), 0, size) : Buffer.allocUnsafe(size);
}

/** Gives back memory from `responseBytes`; anything else is ignored. */
export function releaseResponseBytes(bytes: Buffer): void {
  scratch.give(bytes.buffer as ArrayBuffer);
}
