/**
 * Fast lanes on a Redis Cluster: one lane (lane.ts) per node that serves reads, a key routed by
 * its hash slot. The slot map is ioredis's own (`Cluster.slots`: per slot the node keys, master
 * first), rebuilt whenever ioredis refreshes it (start-up, its periodic refresh, after a MOVED),
 * so the lanes read where ioredis would. The node a slot is read from follows ioredis's
 * `scaleReads` too: with `slave` a replica of the slot when it has one, spread by slot; else the
 * master. While that node's lane is down, another node of the slot serves (every node has a lane).
 */
import type { Cluster } from 'ioredis';
import type { RespLane } from './lane.js';
import { CLUSTER_SLOTS, keySlot } from './key-slot.js';

/** Opens a lane to `host:port` (already told to follow it). */
export type LaneFactory = (host: string, port: number) => RespLane;

export class ClusterLanes {
  readonly #cluster: Cluster;
  readonly #open: LaneFactory;
  /** node key `host:port` -> its lane. */
  readonly #lanes = new Map<string, RespLane>();
  #bySlot: (RespLane | null)[] = new Array<RespLane | null>(CLUSTER_SLOTS).fill(null);
  /**
   * Another node of the slot, read while the chosen one's lane is down: the master when reads go
   * to a replica; a replica when they go to the master. A replica's answer may lag its master's by
   * a moment, which beats failing the read: a killed master's replica keeps answering until the
   * cluster marks the master failed (`cluster-node-timeout`, 15 s by default) and promotes it.
   */
  #altBySlot: (RespLane | null)[] = new Array<RespLane | null>(CLUSTER_SLOTS).fill(null);
  #closed = false;
  readonly #onRefresh = () => this.#rebuild();

  constructor(cluster: Cluster, open: LaneFactory) {
    this.#cluster = cluster;
    this.#open = open;
    cluster.on('refresh', this.#onRefresh);
    this.#rebuild();
  }

  /**
   * The lane for `key` when it is connected; a node that is down (killed, restarting, failing
   * over) is read around through another node of the slot until ioredis's map changes. Else null
   * (the caller reads through ioredis).
   */
  route(key: Uint8Array): RespLane | null {
    const slot = keySlot(key);
    const lane = this.#bySlot[slot]!;
    if (lane !== null && lane.ready) return lane;
    const alt = this.#altBySlot[slot]!;
    return alt !== null && alt.ready ? alt : null;
  }

  /** Every node lane is connected (and there is at least one). */
  get ready(): boolean {
    if (this.#lanes.size === 0) return false;
    for (const lane of this.#lanes.values()) if (!lane.ready) return false;
    return true;
  }

  /** Asks ioredis for a fresh slot map (after a MOVED or ASK on a lane); the lanes follow it. */
  refresh(): void {
    this.#cluster.refreshSlotsCache();
  }

  close(): void {
    this.#closed = true;
    this.#cluster.off('refresh', this.#onRefresh);
    for (const lane of this.#lanes.values()) lane.close();
    this.#lanes.clear();
    this.#bySlot.fill(null);
    this.#altBySlot.fill(null);
  }

  #rebuild(): void {
    if (this.#closed) return;
    const scale = this.#cluster.options.scaleReads;
    const slots = this.#cluster.slots;
    const bySlot = new Array<RespLane | null>(CLUSTER_SLOTS).fill(null);
    const altBySlot = new Array<RespLane | null>(CLUSTER_SLOTS).fill(null);
    const used = new Set<string>();
    const laneOf = (node: string): RespLane => {
      let lane = this.#lanes.get(node);
      if (lane === undefined) {
        const colon = node.lastIndexOf(':');
        lane = this.#open(node.slice(0, colon), Number(node.slice(colon + 1)));
        this.#lanes.set(node, lane);
      }
      used.add(node);
      return lane;
    };
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      const nodes = slots[slot];
      if (nodes === undefined || nodes.length === 0) continue;
      const node = pick(nodes, slot, scale);
      bySlot[slot] = laneOf(node);
      const alt = node !== nodes[0] ? nodes[0]! : nodes.length > 1 ? nodes[1 + (slot % (nodes.length - 1))]! : null;
      if (alt !== null) altBySlot[slot] = laneOf(alt);
    }
    this.#bySlot = bySlot;
    this.#altBySlot = altBySlot;
    for (const [node, lane] of this.#lanes) {
      if (!used.has(node)) {
        lane.close();
        this.#lanes.delete(node);
      }
    }
  }
}

/** The node a slot is read from, by ioredis's `scaleReads` rule (a custom function: the master). */
function pick(nodes: readonly string[], slot: number, scale: unknown): string {
  if (nodes.length === 1 || (scale !== 'slave' && scale !== 'all')) return nodes[0]!;
  if (scale === 'slave') return nodes[1 + (slot % (nodes.length - 1))]!;
  return nodes[slot % nodes.length]!;
}
